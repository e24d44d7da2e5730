import { createConnection } from "node:net";
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
  project.provide("postgresUrl", pgUp ? postgresUrl : null);
  project.provide("redisUrl", redisUp ? redisUrl : null);
}

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin URL of the machine's Postgres (tests create their own databases), or null when unreachable. */
    postgresUrl: string | null;
    /** URL of the machine's Redis (tests use their own key prefix), or null when unreachable. */
    redisUrl: string | null;
  }
}
