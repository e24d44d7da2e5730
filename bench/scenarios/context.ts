import { Redis } from "ioredis";
import { createFreshDatabase } from "../lib/databases.ts";
import type { Options } from "../lib/profile.ts";
import { type RunningServer, startParley } from "../lib/servers.ts";

export interface ScenarioContext {
  options: Options;
  log(message: string): void;
}

/**
 * Runs `body` against a Parley deployment of its own: a fresh database, and with two or more instances a Redis key
 * prefix of its own; both are removed afterwards, whatever happened.
 */
export async function withParley<T>(
  context: ScenarioContext,
  label: string,
  instances: number,
  body: (servers: RunningServer[]) => Promise<T>,
): Promise<T> {
  const { options } = context;
  const database = await createFreshDatabase(options.adminUrl, label);
  const prefix = `parley-bench-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}:`;
  const redis = instances > 1 ? { url: options.redisUrl, prefix } : undefined;
  const servers: RunningServer[] = [];
  try {
    // One after the other: both run the migrations at boot, under an advisory lock.
    for (let instance = 0; instance < instances; instance++) {
      servers.push(
        await startParley({
          databaseUrl: database.url,
          ...(redis ? { redis, instanceId: `bench-${instance}` } : {}),
          ...(options.poolSize ? { poolSize: options.poolSize } : {}),
          ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
        }),
      );
    }
    return await body(servers);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await database.drop();
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
