import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { createFreshDatabase } from "../lib/databases.ts";
import type { Options } from "../lib/profile.ts";
import { type ParleyOptions, type RunningServer, startParley } from "../lib/servers.ts";

export interface ScenarioContext {
  options: Options;
  log(message: string): void;
}

export interface DeploymentOptions {
  /** Postgres (a fresh database, the default) or the embedded PGlite default (no DATABASE_URL). */
  database?: "postgres" | "embedded";
  /** Redis for one instance too (two or more always have it). */
  redis?: boolean;
  env?: Record<string, string>;
  /**
   * Fills the database before any instance starts (the instances then run their migrations over it: nothing to do).
   * For the embedded database this is the DATA_DIR the instance is given; PGlite's files go to `<dataDir>/pglite`.
   */
  prepare?: (database: { kind: "postgres"; url: string } | { kind: "embedded"; dataDir: string }) => Promise<void>;
}

/** The deployment a scenario runs against: its instances, and a way to start another one on it (a restart). */
export interface Deployment {
  servers: RunningServer[];
  /** Starts one more instance on the same database and Redis; stopped with the rest at the end. */
  start(extra: Pick<ParleyOptions, "port" | "operatorPort" | "env" | "instanceId">): Promise<RunningServer>;
}

/**
 * Runs `body` against a Parley deployment of its own: a fresh database, and with Redis a key prefix of its own;
 * both are removed afterwards, whatever happened.
 */
export async function withParley<T>(
  context: ScenarioContext,
  label: string,
  instances: number,
  body: (servers: RunningServer[], deployment: Deployment) => Promise<T>,
  deploymentOptions: DeploymentOptions = {},
): Promise<T> {
  const { options } = context;
  const embedded = deploymentOptions.database === "embedded";
  const database = embedded ? null : await createFreshDatabase(options.adminUrl, label);
  // An embedded database that is prepared beforehand needs a DATA_DIR of its own that outlives the preparation.
  const dataDir = embedded && deploymentOptions.prepare ? mkdtempSync(join(tmpdir(), `parley-bench-${label}-`)) : null;
  const prefix = `parley-bench-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}:`;
  const redis = instances > 1 || deploymentOptions.redis ? { url: options.redisUrl, prefix } : undefined;
  const started: RunningServer[] = [];
  const base: ParleyOptions = {
    databaseUrl: database?.url ?? "embedded",
    ...(redis ? { redis } : {}),
    ...(options.poolSize ? { poolSize: options.poolSize } : {}),
    ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
  };
  const deployment: Deployment = {
    servers: [],
    async start(extra) {
      const env = { ...deploymentOptions.env, ...(dataDir ? { DATA_DIR: dataDir } : {}), ...extra.env };
      const server = await startParley({ ...base, ...extra, env });
      started.push(server);
      return server;
    },
  };
  try {
    const target = dataDir ? ({ kind: "embedded", dataDir } as const) : database ? ({ kind: "postgres", url: database.url } as const) : null;
    if (deploymentOptions.prepare && target) await deploymentOptions.prepare(target);
    // One after the other: both run the migrations at boot, under an advisory lock.
    for (let instance = 0; instance < instances; instance++) {
      deployment.servers.push(await deployment.start(redis && instances > 1 ? { instanceId: `bench-${instance}` } : {}));
    }
    return await body(deployment.servers, deployment);
  } finally {
    await Promise.all(started.map((server) => server.stop()));
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (redis) await deletePrefix(redis.url, prefix);
  }
}

async function deletePrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await client.connect();
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}
