import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe } from "vitest";
import { createRedisPresenceStore } from "../../src/infra/presence/redis.ts";
import { connectRedis } from "../../src/infra/redis/connect.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { testRedisUrl, uniqueRedisPrefix } from "../support/redis.ts";
import { testPresenceStore } from "./presence-store.contract.ts";

const url = testRedisUrl();

describe.skipIf(!url)("Redis presence store", () => {
  if (!url) return;
  const prefix = uniqueRedisPrefix();
  let client: Redis;
  beforeAll(async () => {
    client = await connectRedis({ url, logger: createLogger({ level: "silent" }), name: "test-presence" });
  });
  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  });

  testPresenceStore("redis", {
    createStore: async () => createRedisPresenceStore({ client, prefix }),
    time: "real",
  });
});
