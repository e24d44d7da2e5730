import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisRecentEvents } from "../../src/infra/recent-events/redis.ts";
import { connectRedis } from "../../src/infra/redis/connect.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { testRedisUrl, uniqueRedisPrefix } from "../support/redis.ts";
import { startThrowawayRedis } from "../support/throwaway-redis.ts";
import { roomMessages, testRecentEvents } from "./recent-events.contract.ts";

const url = testRedisUrl();
const silent = createLogger({ level: "silent" });

describe.skipIf(!url)("Redis recent messages", () => {
  if (!url) return;
  const prefix = uniqueRedisPrefix();
  let client: Redis;
  beforeAll(async () => {
    client = await connectRedis({ url, logger: silent, name: "test-recent-messages" });
  });
  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  });

  testRecentEvents("redis", {
    createCache: async (options) => createRedisRecentEvents({ client, prefix, ...options }),
    time: "real",
    additionalTests() {
      it("keeps a room in one sorted set under its prefix, trimmed and expiring, and leaves the client open", async () => {
        const cache = createRedisRecentEvents({ client, prefix, perRoom: 5, idleSeconds: 30 });
        const roomId = crypto.randomUUID();
        await cache.append(roomMessages(roomId, 1, 8));
        const key = `${prefix}re:${roomId}`;
        expect(await client.zcard(key)).toBe(5);
        expect(await client.zrangebyscore(key, "-inf", "+inf").then((members) => members.map((m) => JSON.parse(m).seq))).toEqual([
          4, 5, 6, 7, 8,
        ]);
        const ttl = await client.ttl(key);
        expect(ttl).toBeGreaterThan(25);
        expect(ttl).toBeLessThanOrEqual(30);
        await cache.close();
        expect(await client.ping()).toBe("PONG");
      });

      it("shares a room's events between instances, whichever appended them", async () => {
        const other = await connectRedis({ url, logger: silent, name: "test-recent-messages-2" });
        try {
          const [a, b] = [createRedisRecentEvents({ client, prefix }), createRedisRecentEvents({ client: other, prefix })];
          const roomId = crypto.randomUUID();
          const messages = roomMessages(roomId, 1, 4);
          await a.append([messages[0]!, messages[2]!]);
          await b.append([messages[1]!, messages[3]!]);
          expect(await a.range(roomId, 0, 4)).toEqual(messages);
          expect(await b.range(roomId, 0, 4)).toEqual(messages);
        } finally {
          await other.quit();
        }
      });

      it("reads a member that is not a frame of ours as a miss, never as an event", async () => {
        const cache = createRedisRecentEvents({ client, prefix });
        const roomId = crypto.randomUUID();
        await cache.append(roomMessages(roomId, 1, 2));
        await client.zadd(`${prefix}re:${roomId}`, 3, "not json");
        expect(await cache.range(roomId, 0, 2)).toHaveLength(2);
        expect(await cache.range(roomId, 0, 3)).toBeNull();
      });

      it("rejects (for the caller to log and read Postgres) while Redis is unreachable", async () => {
        const server = await startThrowawayRedis();
        const lonely = await connectRedis({ url: server.url, logger: silent, name: "test-recent-messages-down" });
        try {
          const cache = createRedisRecentEvents({ client: lonely, prefix });
          const roomId = crypto.randomUUID();
          await cache.append(roomMessages(roomId, 1, 1));
          await server.stop();
          await expect(cache.append(roomMessages(roomId, 2, 2))).rejects.toThrow();
          await expect(cache.range(roomId, 0, 1)).rejects.toThrow();
        } finally {
          lonely.disconnect();
          await server.stop();
        }
      });
    },
  });
});
