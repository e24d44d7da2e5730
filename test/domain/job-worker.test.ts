import { eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { enqueueJob } from "../../src/domain/jobs/enqueue.ts";
import type { JobHandlers } from "../../src/domain/jobs/handlers.ts";
import { listDeadJobs, readJobStats, retryDeadJobs } from "../../src/domain/jobs/job-ops.ts";
import { claimDueJobs } from "../../src/domain/jobs/job-store.ts";
import { createJobWorker, type JobWorker, type JobWorkerOptions } from "../../src/domain/jobs/job-worker.ts";
import type { Database } from "../../src/infra/db/database.ts";
import { createPostgresDatabase } from "../../src/infra/db/postgres.ts";
import { jobs } from "../../src/infra/db/schema.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { databaseKinds, createTestDatabase } from "../support/databases.ts";
import { until } from "../support/fault-harness.ts";

/** Real time plus an offset the spec moves forward: jobs enqueued now (the database's now()) are due at once. */
function testClock(): { now(): Date; advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => void (offset += ms) };
}

const silent = createLogger({ level: "silent" });
const BACKOFF = { minDelayMs: 1000, maxDelayMs: 60_000 };

/**
 * The outbox's worker against a real database: a job exists exactly when its transaction committed, runs at least
 * once and (short of a crash) once, retries with growing delays until it is dead, and an instance's claims are
 * never lost — taken over after a crash, given back on a drain.
 */
describe.each(databaseKinds)("job worker on %s", (kind) => {
  let database: Database;
  let url: string | null;
  let drop: () => Promise<void>;
  const workers: JobWorker[] = [];

  beforeAll(async () => {
    ({ database, url, drop } = await createTestDatabase(kind));
  });
  afterAll(async () => {
    await drop?.();
  });
  beforeEach(async () => {
    await database.db.delete(jobs);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.drain(0)));
  });

  function startWorker(options: Partial<JobWorkerOptions> & Pick<JobWorkerOptions, "handlers">): JobWorker {
    const worker = createJobWorker({
      database,
      clock: testClock(),
      logger: silent,
      instanceId: `spec-${crypto.randomUUID()}`,
      pollIntervalMs: 20,
      leaseMs: 30_000,
      concurrency: 4,
      maxAttempts: 10,
      backoff: BACKOFF,
      ...options,
    });
    worker.start();
    workers.push(worker);
    return worker;
  }

  const deleteObjects = (keys: string[]) => ({ kind: "files.deleteObjects" as const, payload: { keys } });

  async function row(id: string) {
    const [found] = await database.db.select().from(jobs).where(eq(jobs.id, id));
    if (!found) throw new Error(`no job ${id}`);
    return found;
  }
  async function onlyJob() {
    const rows = await database.db.select().from(jobs);
    expect(rows).toHaveLength(1);
    return rows[0] as (typeof rows)[number];
  }
  const settled = (id: string, status: string) => until(async () => (await row(id)).status === status, () => `job ${id} ${status}`, 5000);

  it("never runs a job whose transaction rolled back, and runs a committed one once", async () => {
    const ran: string[][] = [];
    await database.db
      .transaction(async (tx) => {
        await enqueueJob(tx, deleteObjects(["rolled-back"]));
        throw new Error("the change failed");
      })
      .catch(() => {});
    await database.db.transaction((tx) => enqueueJob(tx, deleteObjects(["committed"])));
    startWorker({ handlers: { "files.deleteObjects": async ({ keys }) => void ran.push(keys) } });
    const job = await onlyJob();
    await settled(job.id, "done");
    await new Promise((resolve) => setTimeout(resolve, 100)); // a few more polls: nothing runs again
    expect(ran).toEqual([["committed"]]);
    expect(await row(job.id)).toMatchObject({ status: "done", attempts: 1, lockedBy: null, finishedAt: expect.any(Date) });
  });

  it("hands the handler its payload, the job's id and the attempt", async () => {
    const seen: unknown[] = [];
    await enqueueJob(database.db, { kind: "email.changeNotice", payload: { userId: "u1", oldEmail: "a@x.test", newEmail: "b@x.test" } });
    startWorker({ handlers: { "email.changeNotice": async (payload, context) => void seen.push({ payload, context }) } });
    const job = await onlyJob();
    await settled(job.id, "done");
    expect(seen).toEqual([{ payload: { userId: "u1", oldEmail: "a@x.test", newEmail: "b@x.test" }, context: { jobId: job.id, attempt: 1 } }]);
  });

  it("retries a failing job with growing delays, then leaves it dead with its last error", async () => {
    const clock = testClock();
    const failed: string[] = [];
    await enqueueJob(database.db, deleteObjects(["flaky"]));
    const worker = startWorker({
      clock,
      maxAttempts: 3,
      random: () => 0.9999, // the top of each jitter window, so the delays can be read off exactly
      onAttemptFailed: (failedKind) => failed.push(failedKind),
      handlers: { "files.deleteObjects": () => Promise.reject(new Error(`storage said no ${"!".repeat(2000)}`)) },
    });
    const { id } = await onlyJob();
    const delays: number[] = [];
    for (const attempt of [1, 2]) {
      await until(async () => (await row(id)).attempts === attempt && (await row(id)).status === "queued", () => `attempt ${attempt} failed`, 5000);
      const job = await row(id);
      delays.push(job.runAt.getTime() - (job.updatedAt.getTime()));
      expect(job.lastError?.startsWith("storage said no")).toBe(true);
      expect(job.lastError?.length).toBeLessThanOrEqual(1000);
      clock.advance(delays.at(-1)! + 1);
      worker.wake();
    }
    await settled(id, "dead");
    expect(delays).toEqual([999, 1999]); // ceilings 1 s, 2 s: exponential, with the jitter at its top
    expect(await row(id)).toMatchObject({ status: "dead", attempts: 3, finishedAt: expect.any(Date), lockedBy: null });
    expect(failed).toEqual(["files.deleteObjects", "files.deleteObjects", "files.deleteObjects"]);
    expect((await readJobStats(database.db, clock.now())).dead).toBe(1);
  });

  it("keeps a job within the jitter window: never later than the exponential ceiling", async () => {
    const clock = testClock();
    await enqueueJob(database.db, deleteObjects(["jittered"]));
    startWorker({ clock, handlers: { "files.deleteObjects": () => Promise.reject(new Error("down")) } });
    const { id } = await onlyJob();
    await until(async () => (await row(id)).attempts === 1 && (await row(id)).status === "queued", () => "first attempt failed", 5000);
    const job = await row(id);
    const delay = job.runAt.getTime() - job.updatedAt.getTime();
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThan(BACKOFF.minDelayMs);
  });

  it("makes a job of a kind nobody handles dead at once, saying so", async () => {
    await enqueueJob(database.db, { kind: "email.verify", payload: { userId: "u", token: "t" } });
    startWorker({ handlers: {} });
    const { id } = await onlyJob();
    await settled(id, "dead");
    expect(await row(id)).toMatchObject({ attempts: 1, lastError: 'no handler for job kind "email.verify" on this instance' });
  });

  it("lists dead jobs for an operator and runs them again on retry", async () => {
    let healthy = false;
    const handlers: JobHandlers = {
      "files.deleteObjects": async () => {
        if (!healthy) throw new Error("bucket unreachable");
      },
    };
    await enqueueJob(database.db, { ...deleteObjects(["later"]), maxAttempts: 1 });
    const worker = startWorker({ handlers });
    const { id } = await onlyJob();
    await settled(id, "dead");
    expect(await listDeadJobs(database.db, { limit: 10 })).toEqual([
      { id, kind: "files.deleteObjects", attempts: 1, lastError: "bucket unreachable", createdAt: expect.any(Date), diedAt: expect.any(Date) },
    ]);
    healthy = true;
    expect(await retryDeadJobs(database.db, { ids: [id, crypto.randomUUID()] }, new Date())).toEqual([id]);
    worker.wake();
    await settled(id, "done");
    expect(await row(id)).toMatchObject({ attempts: 1, status: "done" });
    expect(await listDeadJobs(database.db, { limit: 10 })).toEqual([]);
    expect(await retryDeadJobs(database.db, "all", new Date())).toEqual([]);
  });

  it("writes one job for one idempotency key, however often it is enqueued", async () => {
    let runs = 0;
    for (let i = 0; i < 3; i++) {
      await database.db.transaction((tx) => enqueueJob(tx, { ...deleteObjects(["once"]), idempotencyKey: "delete:message-1" }));
    }
    startWorker({ handlers: { "files.deleteObjects": async () => void runs++ } });
    const job = await onlyJob();
    await settled(job.id, "done");
    await database.db.transaction((tx) => enqueueJob(tx, { ...deleteObjects(["once"]), idempotencyKey: "delete:message-1" }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(runs).toBe(1);
    expect((await database.db.select().from(jobs)).length).toBe(1);
  });

  it("never runs one job twice at once across workers, and runs every job (SKIP LOCKED)", async () => {
    // On Postgres each worker has its own connections, as two instances would.
    const second = url ? await createPostgresDatabase({ url, poolSize: 4 }) : database;
    try {
      const running = new Set<string>();
      const runs = new Map<string, number>();
      let overlaps = 0;
      const handlers: JobHandlers = {
        "files.deleteObjects": async ({ keys }) => {
          const key = keys[0] as string;
          if (running.has(key)) overlaps++;
          running.add(key);
          runs.set(key, (runs.get(key) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running.delete(key);
        },
      };
      const keys = Array.from({ length: 40 }, (_, i) => `object-${i}`);
      await database.db.transaction(async (tx) => {
        for (const key of keys) await enqueueJob(tx, deleteObjects([key]));
      });
      startWorker({ handlers, pollIntervalMs: 5 });
      startWorker({ handlers, pollIntervalMs: 5, database: second });
      await until(async () => (await readJobStats(database.db, new Date())).queued + (await readJobStats(database.db, new Date())).running === 0, () => "all jobs done", 10_000);
      expect(overlaps).toBe(0);
      expect([...runs.keys()].sort()).toEqual([...keys].sort());
      expect([...runs.values()].every((count) => count === 1)).toBe(true);
    } finally {
      await Promise.all(workers.splice(0).map((worker) => worker.drain(0)));
      if (second !== database) await second.close();
    }
  });

  it("runs at most its concurrency of handlers at once, and claims no more than that", async () => {
    let inFlight = 0;
    let most = 0;
    await database.db.transaction(async (tx) => {
      for (let i = 0; i < 8; i++) await enqueueJob(tx, deleteObjects([`bounded-${i}`]));
    });
    startWorker({
      concurrency: 2,
      handlers: {
        "files.deleteObjects": async () => {
          most = Math.max(most, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 40));
          inFlight--;
        },
      },
    });
    let mostRunningRows = 0;
    await until(
      async () => {
        const stats = await readJobStats(database.db, new Date());
        mostRunningRows = Math.max(mostRunningRows, stats.running);
        return stats.queued + stats.running === 0;
      },
      () => "all done",
      10_000,
    );
    expect(most).toBe(2);
    expect(mostRunningRows).toBeLessThanOrEqual(2);
  });

  it("takes over the claims of an instance that died once their lease lapses", async () => {
    const clock = testClock();
    await enqueueJob(database.db, deleteObjects(["orphaned"]));
    // An instance claims it and dies (kill -9): its claim stays in the table, running, until the lease runs out.
    const [claimed] = await claimDueJobs(database.db, { now: clock.now(), limit: 1, lockedBy: "instance-that-died", lockedUntil: new Date(clock.now().getTime() + 30_000) });
    expect(claimed).toBeDefined();
    const ran: number[] = [];
    const worker = startWorker({ clock, handlers: { "files.deleteObjects": async (_, { attempt }) => void ran.push(attempt) } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ran).toEqual([]); // the lease still holds: the other instance may only be slow
    clock.advance(30_001);
    worker.wake();
    await settled(claimed!.id, "done");
    expect(ran).toEqual([2]); // the lost run counts as an attempt
  });

  it("on a drain, finishes what ends in time and gives back what does not, its attempt uncounted", async () => {
    let release: () => void = () => {};
    const stuck = new Promise<void>((resolve) => (release = resolve));
    await enqueueJob(database.db, deleteObjects(["quick"]));
    await enqueueJob(database.db, deleteObjects(["slow"]));
    const worker = startWorker({
      handlers: {
        "files.deleteObjects": async ({ keys }) => {
          if (keys[0] === "slow") await stuck;
          else await new Promise((resolve) => setTimeout(resolve, 300));
        },
      },
    });
    await until(() => worker.active() === 2, () => "both claimed", 5000);
    const drained = await worker.drain(1500);
    expect(drained).toEqual({ released: 1 });
    const rows = await database.db.select().from(jobs).orderBy(sql`${jobs.payload}->'keys'->>0`);
    expect(rows.map((job) => [job.payload, job.status, job.attempts, job.lockedBy])).toEqual([
      [{ keys: ["quick"] }, "done", 1, null],
      [{ keys: ["slow"] }, "queued", 0, null],
    ]);
    release(); // the handler ends after all: its late success changes nothing, the job runs again elsewhere
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await database.db.select().from(jobs).where(eq(jobs.status, "queued"))).length).toBe(1);
    expect(await readJobStats(database.db, new Date(Date.now() + 1000))).toMatchObject({ queued: 1, running: 0, dead: 0 });
  });
});
