import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisKeyValueStore } from "../../src/infra/kv/redis.ts";
import { connectRedis } from "../../src/infra/redis/connect.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { testRedisUrl, uniqueRedisPrefix } from "../support/redis.ts";
import { testKeyValueStore, uniqueKey } from "./key-value.contract.ts";

const url = testRedisUrl();

describe.skipIf(!url)("Redis key-value store", () => {
  if (!url) return;
  const prefix = uniqueRedisPrefix();
  let client: Redis;
  beforeAll(async () => {
    client = await connectRedis({ url, logger: createLogger({ level: "silent" }), name: "test-kv" });
  });
  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  });

  testKeyValueStore("redis", {
    createStore: async () => createRedisKeyValueStore({ client, prefix }),
    time: "real",
    additionalTests() {
      it("stores keys under its prefix with a Redis TTL, and leaves the shared client open on close", async () => {
        const store = createRedisKeyValueStore({ client, prefix });
        const key = uniqueKey("ticket");
        await store.set(key, "value", { ttlSeconds: 30 });
        const ttl = await client.ttl(`${prefix}kv:${key}`);
        expect(ttl).toBeGreaterThan(25);
        expect(ttl).toBeLessThanOrEqual(30);
        await store.close();
        expect(await client.ping()).toBe("PONG");
      });
    },
  });
});
