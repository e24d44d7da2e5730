import { createConnection } from "node:net";
import postgres from "postgres";
import type { TestProject } from "vitest/node";

/**
 * Finds the machine's Postgres and Redis. Suites that need them skip when they are down — except under CI=true,
 * where an unreachable service fails the run instead of silently shrinking it.
 */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1500, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export default async function setup(project: TestProject): Promise<void> {
  const postgresUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
  const pg = new URL(postgresUrl);
  const redis = new URL(redisUrl);
  const [pgUp, redisUp] = await Promise.all([
    reachable(pg.hostname, Number(pg.port || 5432)),
    reachable(redis.hostname, Number(redis.port || 6379)),
  ]);
  const missing = [!pgUp && `Postgres at ${pg.host}`, !redisUp && `Redis at ${redis.host}`].filter(Boolean);
  if (missing.length > 0 && process.env.CI === "true") {
    throw new Error(`CI=true but ${missing.join(" and ")} unreachable: refusing to skip their suites`);
  }
  if (missing.length > 0) console.warn(`[parley tests] skipping suites that need: ${missing.join(", ")}`);
  if (pgUp) await dropAbandonedDatabases(postgresUrl);
  project.provide("postgresUrl", pgUp ? postgresUrl : null);
  project.provide("redisUrl", redisUp ? redisUrl : null);
  project.provide("runId", `${process.pid}-${Date.now()}`);
}

/**
 * Test databases are named `parley_test_<base36 ms>_…` and dropped by their suites; a run that was killed leaves
 * its own behind. Those more than an hour old cannot belong to a run still going: drop them, so they do not pile up.
 */
async function dropAbandonedDatabases(adminUrl: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin<{ datname: string }[]>`select datname from pg_database where datname like 'parley\_test\_%'`;
    const cutoff = Date.now() - 60 * 60 * 1000;
    for (const { datname } of rows) {
      const createdAt = parseInt(datname.split("_")[2] ?? "", 36);
      if (Number.isFinite(createdAt) && createdAt < cutoff) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    }
  } finally {
    await admin.end();
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin URL of the machine's Postgres (tests create their own databases), or null when unreachable. */
    postgresUrl: string | null;
    /** URL of the machine's Redis (tests use their own key prefix), or null when unreachable. */
    redisUrl: string | null;
    /** This vitest run: what is built once per run (test/support/web-browser.ts) is stamped with it. */
    runId: string;
  }
}
