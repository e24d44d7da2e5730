import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { jobs } from "../../infra/db/schema.ts";

/** The queue as an operator (and /metrics) sees it: the whole table, whichever instance asks. */
export interface JobStats {
  queued: number;
  running: number;
  dead: number;
  /** Seconds since the oldest due queued job became due; 0 when none is waiting. */
  oldestDueSeconds: number;
}

export async function readJobStats(db: Db, now: Date): Promise<JobStats> {
  const [row] = await db
    .select({
      queued: sql<number>`count(*) filter (where ${jobs.status} = 'queued')`.mapWith(Number),
      running: sql<number>`count(*) filter (where ${jobs.status} = 'running')`.mapWith(Number),
      dead: sql<number>`count(*) filter (where ${jobs.status} = 'dead')`.mapWith(Number),
      oldestDue: sql<string | null>`min(${jobs.runAt}) filter (where ${jobs.status} = 'queued' and ${jobs.runAt} <= ${now.toISOString()}::timestamptz)`,
    })
    .from(jobs)
    .where(inArray(jobs.status, ["queued", "running", "dead"]));
  const oldestDue = row?.oldestDue ? new Date(row.oldestDue) : null;
  return {
    queued: row?.queued ?? 0,
    running: row?.running ?? 0,
    dead: row?.dead ?? 0,
    oldestDueSeconds: oldestDue ? Math.max(0, (now.getTime() - oldestDue.getTime()) / 1000) : 0,
  };
}

export interface DeadJob {
  id: string;
  kind: string;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  diedAt: Date | null;
}

/** Dead jobs, the most recent first. Payloads stay out: they can hold tokens and addresses. */
export async function listDeadJobs(db: Db, options: { limit: number }): Promise<DeadJob[]> {
  return db
    .select({ id: jobs.id, kind: jobs.kind, attempts: jobs.attempts, lastError: jobs.lastError, createdAt: jobs.createdAt, diedAt: jobs.finishedAt })
    .from(jobs)
    .where(eq(jobs.status, "dead"))
    .orderBy(desc(jobs.finishedAt))
    .limit(options.limit);
}

/**
 * Queues dead jobs again, now, with a fresh set of attempts (`last_error` stays until the next run says otherwise).
 * "all" retries every dead job; ids that are not dead are left alone. Returns the ids queued.
 */
export async function retryDeadJobs(db: Db, which: { ids: string[] } | "all", now: Date): Promise<string[]> {
  const dead = eq(jobs.status, "dead");
  const rows = await db
    .update(jobs)
    .set({ status: "queued", attempts: 0, runAt: now, finishedAt: null, updatedAt: now })
    .where(which === "all" ? dead : and(dead, inArray(jobs.id, which.ids)))
    .returning({ id: jobs.id });
  return rows.map((row) => row.id);
}
