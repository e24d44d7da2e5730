import { inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { enqueueJob } from "../../src/domain/jobs/enqueue.ts";
import type { Database } from "../../src/infra/db/database.ts";
import { createPostgresDatabase } from "../../src/infra/db/postgres.ts";
import { jobs } from "../../src/infra/db/schema.ts";
import { createPostgresTestDatabase } from "../support/databases.ts";
import { until } from "../support/fault-harness.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";

const postgresUrl = inject("postgresUrl");

/**
 * Done means: "kill -9 of an instance with claimed jobs loses no email (another instance finishes them)". Two real
 * servers on one Postgres share "test.sleep" jobs; one is killed mid-handler; the survivor finishes its own, takes
 * the dead one's over once their lease lapses, and finishes those too.
 */
describe.skipIf(!postgresUrl)("kill -9 of an instance holding outbox jobs", () => {
  let database: { url: string; drop(): Promise<void> };
  let db: Database;
  const servers: ServerProcess[] = [];
  const instanceEnv = (id: string): Record<string, string> => ({
    DATABASE_URL: database.url,
    INSTANCE_ID: id,
    JOBS_TEST_HANDLERS: "1", // "test.sleep": a job that holds its claim for a while
    JOBS_POLL_INTERVAL_MS: "50",
    JOBS_LEASE_SECONDS: "2",
    JOBS_CONCURRENCY: "4",
  });

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    servers.push(await startServer("bun", instanceEnv("victim")), await startServer("bun", instanceEnv("survivor")));
    db = await createPostgresDatabase({ url: database.url, poolSize: 2 });
  }, 120_000);

  afterAll(async () => {
    for (const server of servers) await server.stop("SIGKILL");
    await db?.close();
    await database?.drop();
  });

  it("finishes every job the dead instance had claimed, on the survivor", async () => {
    const ids: string[] = [];
    await db.db.transaction(async (tx) => {
      for (let i = 0; i < 8; i++) await enqueueJob(tx, { kind: "test.sleep", payload: { ms: 4000 }, idempotencyKey: `sleep-${i}` });
    });
    for (const row of await db.db.select({ id: jobs.id }).from(jobs)) ids.push(row.id);
    const rows = () => db.db.select().from(jobs).where(inArray(jobs.id, ids));
    // Each instance claims as many as it runs at once (4 + 4); the victim is killed while its handlers sleep.
    const held = async (): Promise<string[]> =>
      (await rows()).filter((job) => job.lockedBy === "victim" && job.status === "running").map((job) => job.id);
    await until(async () => (await held()).length === 4, () => "the victim holds 4 claims", 15_000);
    const [victim] = servers as [ServerProcess];
    await victim.stop("SIGKILL");
    const orphaned = await held();
    expect(orphaned).toHaveLength(4); // the handlers sleep 4 s: all four were mid-run

    await until(async () => (await rows()).every((job) => job.status === "done"), () => "every job done", 30_000);
    const done = await rows();
    for (const job of done.filter((row) => orphaned.includes(row.id))) {
      expect(job.attempts, "the killed run counts as an attempt").toBe(2);
    }
    expect(done.every((job) => job.status === "done" && job.lastError === null)).toBe(true);
    const survivor = servers[1] as ServerProcess;
    expect(survivor.logs.some((line) => line.msg === "took over jobs whose instance stopped holding them")).toBe(true);
  });
});
