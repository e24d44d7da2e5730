import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { jobs } from "../../infra/db/schema.ts";

/** A job as a worker claimed it. */
export interface ClaimedJob {
  id: string;
  kind: string;
  payload: unknown;
  /** This run's number, counting the one just claimed. */
  attempts: number;
  maxAttempts: number;
}

/** The claim a worker holds: which instance, and which attempt (a later claim of the same job is another one). */
export interface Claim {
  id: string;
  attempts: number;
  lockedBy: string;
}

/** Longest `last_error` kept: a message, never a stack or a response body. */
const MAX_ERROR_CHARS = 1000;

/**
 * Claims up to `limit` due queued jobs, oldest first, in one statement: rows another worker has locked are skipped
 * (FOR UPDATE SKIP LOCKED), so two workers never claim one job. Each becomes running under `lockedBy` until
 * `lockedUntil`, with its attempt counted.
 */
export async function claimDueJobs(db: Db, options: { now: Date; limit: number; lockedBy: string; lockedUntil: Date }): Promise<ClaimedJob[]> {
  // Due within the claim's millisecond: a JS Date has milliseconds, run_at (Postgres' now() by default) microseconds,
  // so a job enqueued in the millisecond of the claim would otherwise look later than now and wait a whole poll.
  const now = new Date(options.now.getTime() + 1).toISOString();
  // MATERIALIZED: the locking SELECT runs once. As a plain `id IN (subquery)` the planner may run it again for each
  // row it updates, each run skipping nothing of its own and finding more — it claimed every due job, LIMIT or not.
  const result = await db.execute(sql`
    with due as materialized (
      select ${jobs.id} as id from ${jobs}
      where ${jobs.status} = 'queued' and ${jobs.runAt} < ${now}::timestamptz
      order by ${jobs.runAt}
      limit ${options.limit}
      for update skip locked
    )
    update ${jobs} set status = 'running', locked_by = ${options.lockedBy}, locked_until = ${options.lockedUntil.toISOString()}::timestamptz,
      attempts = ${jobs.attempts} + 1, updated_at = ${now}::timestamptz
    from due where ${jobs.id} = due.id
    returning ${jobs.id} as id, ${jobs.kind} as kind, ${jobs.payload} as payload, ${jobs.attempts} as attempts, ${jobs.maxAttempts} as max_attempts`);
  // postgres.js answers with the rows, PGlite with `{ rows }`.
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
    id: string;
    kind: string;
    payload: unknown;
    attempts: number;
    max_attempts: number;
  }[];
  return rows.map((row) => ({ id: row.id, kind: row.kind, payload: row.payload, attempts: Number(row.attempts), maxAttempts: Number(row.max_attempts) }));
}

/** Only the holder of this very claim may settle it: after a takeover or a release, a late answer changes nothing. */
function held(claim: Claim) {
  return and(eq(jobs.id, claim.id), eq(jobs.status, "running"), eq(jobs.lockedBy, claim.lockedBy), eq(jobs.attempts, claim.attempts));
}

export async function markDone(db: Db, claim: Claim, now: Date): Promise<void> {
  await db.update(jobs).set({ status: "done", lockedBy: null, lockedUntil: null, finishedAt: now, updatedAt: now }).where(held(claim));
}

/** A failed attempt: queued again for `retryAt`, or dead when `retryAt` is null. */
export async function markFailed(db: Db, claim: Claim, failure: { error: string; now: Date; retryAt: Date | null }): Promise<void> {
  const lastError = failure.error.slice(0, MAX_ERROR_CHARS);
  const settled =
    failure.retryAt === null
      ? { status: "dead", finishedAt: failure.now }
      : { status: "queued", runAt: failure.retryAt };
  await db
    .update(jobs)
    .set({ ...settled, lockedBy: null, lockedUntil: null, lastError, updatedAt: failure.now })
    .where(held(claim));
}

/** Extends this instance's claims on jobs still running, so a slow handler is not taken for a dead instance's. */
export async function renewClaims(db: Db, claims: Claim[], lockedUntil: Date): Promise<void> {
  if (claims.length === 0) return;
  const lockedBy = (claims[0] as Claim).lockedBy;
  await db
    .update(jobs)
    .set({ lockedUntil })
    .where(and(inArray(jobs.id, claims.map((claim) => claim.id)), eq(jobs.status, "running"), eq(jobs.lockedBy, lockedBy)));
}

/**
 * Gives claims back unfinished (a draining instance): queued again at once, the attempt uncounted — it did not fail.
 * Returns how many were still held.
 */
export async function releaseClaims(db: Db, claims: Claim[], now: Date): Promise<number> {
  let released = 0;
  for (const claim of claims) {
    const rows = await db
      .update(jobs)
      .set({ status: "queued", attempts: sql`${jobs.attempts} - 1`, lockedBy: null, lockedUntil: null, runAt: now, updatedAt: now })
      .where(held(claim))
      .returning({ id: jobs.id });
    released += rows.length;
  }
  return released;
}

/**
 * Claims whose lease lapsed (their instance died, or lost the database for longer than the lease) are queued again
 * for any worker — or dead if that run was their last attempt (a job that kills its instance does not loop forever).
 */
export async function requeueLapsedClaims(db: Db, options: { now: Date; maxAttempts: number }): Promise<{ requeued: number; dead: number }> {
  const lapsed = and(eq(jobs.status, "running"), lt(jobs.lockedUntil, options.now));
  const lastAttempt = sql`${jobs.attempts} >= least(${jobs.maxAttempts}, ${options.maxAttempts})`;
  const dead = await db
    .update(jobs)
    .set({ status: "dead", lockedBy: null, lockedUntil: null, finishedAt: options.now, updatedAt: options.now, lastError: "its instance stopped while running it (lease lapsed) on its last attempt" })
    .where(and(lapsed, lastAttempt))
    .returning({ id: jobs.id });
  const requeued = await db
    .update(jobs)
    .set({ status: "queued", lockedBy: null, lockedUntil: null, runAt: options.now, updatedAt: options.now })
    .where(lapsed)
    .returning({ id: jobs.id });
  return { requeued: requeued.length, dead: dead.length };
}
