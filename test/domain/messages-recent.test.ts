import { and, eq, gt } from "drizzle-orm";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMessageService } from "../../src/domain/messages/messages.service.ts";
import { findMessages } from "../../src/domain/messages/message-rows.ts";
import { messages as messageRows } from "../../src/infra/db/schema.ts";
import { createMemoryRecentMessages } from "../../src/infra/recent-messages/memory.ts";
import type { RecentMessages } from "../../src/infra/recent-messages/recent-messages.ts";
import { createRedisRecentMessages } from "../../src/infra/recent-messages/redis.ts";
import { closeRedis, connectRedis } from "../../src/infra/redis/connect.ts";
import { systemClock } from "../../src/lib/clock.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { databaseKinds, type DatabaseKind } from "../support/databases.ts";
import { testRedisUrl, uniqueRedisPrefix } from "../support/redis.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { startThrowawayRedis } from "../support/throwaway-redis.ts";
import { clientMsgId, roomWith } from "./message-batches.ts";

const redisUrl = testRedisUrl();
const silent = createLogger({ level: "silent" });
const PER_ROOM = 10;

const cases: { database: DatabaseKind; cache: "memory" | "redis" }[] = databaseKinds.flatMap((database) => [
  { database, cache: "memory" as const },
  ...(redisUrl ? [{ database, cache: "redis" as const }] : []),
]);

describe.each(cases)("messages.range on $database with the $cache recent-messages cache", ({ database, cache }) => {
  let deps: TestDeps;
  let redis: Redis | null = null;
  const prefix = uniqueRedisPrefix();
  beforeAll(async () => {
    let recentMessages: RecentMessages;
    if (cache === "redis" && redisUrl) {
      redis = await connectRedis({ url: redisUrl, logger: silent, name: "test-recent-range" });
      recentMessages = createRedisRecentMessages({ client: redis, prefix, perRoom: PER_ROOM });
    } else {
      recentMessages = createMemoryRecentMessages({ clock: systemClock, perRoom: PER_ROOM });
    }
    deps = await createTestDeps(database, { recentMessages });
  });
  afterAll(async () => {
    await deps?.close();
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await closeRedis(redis);
    }
  });

  async function sendMany(count: number): Promise<string> {
    const { room, members } = await roomWith(deps, 2);
    for (let i = 1; i <= count; i++) {
      await deps.services.messages.send(members[i % 2]!.id, { roomId: room.id, clientMsgId: clientMsgId("rc"), body: `#${i}` });
    }
    return room.id;
  }

  it("serves a range the cache holds from the cache, and one reaching further back from Postgres", async () => {
    const roomId = await sendMany(15); // the cache holds the newest 10: 6…15
    // A probe only a test may use: rows 11…15 vanish from Postgres, so an answer that has them came from the cache.
    await deps.database.db.delete(messageRows).where(and(eq(messageRows.roomId, roomId), gt(messageRows.seq, 10)));
    const cached = await deps.services.messages.range(roomId, 10, 15, 100);
    expect(cached.map((message) => message.seq)).toEqual([11, 12, 13, 14, 15]);
    expect(cached.map((message) => message.body)).toEqual(["#11", "#12", "#13", "#14", "#15"]);
    expect((await deps.services.messages.range(roomId, 12, 15, 2)).map((message) => message.seq)).toEqual([13, 14]);
    // 5…15 is not all in the cache: Postgres answers, with what it has.
    expect((await deps.services.messages.range(roomId, 4, 15, 100)).map((message) => message.seq)).toEqual([5, 6, 7, 8, 9, 10]);
  });

  it("answers every window exactly as Postgres does, whether the cache holds it or not", async () => {
    const roomId = await sendMany(25);
    const windows = [0, 5, 14, 15, 16, 20, 24, 25].flatMap((after) =>
      [after, after + 1, 20, 25, 27].filter((through) => through >= after).flatMap((through) => [1, 7, 500].map((limit) => ({ after, through, limit }))),
    );
    for (const { after, through, limit } of windows) {
      const fromPostgres = await findMessages(deps.database.db, {
        where: and(eq(messageRows.roomId, roomId), gt(messageRows.seq, after)),
        order: "asc",
        limit,
      });
      const expected = fromPostgres.filter((message) => message.seq <= through);
      const answered = await deps.services.messages.range(roomId, after, through, limit);
      expect(JSON.stringify(answered), `range(${after}, ${through}, ${limit})`).toBe(JSON.stringify(expected));
    }
  });
});

describe.skipIf(!redisUrl)("messages when the recent-messages cache is unreachable", () => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(databaseKinds.includes("postgres") ? "postgres" : "pglite");
  });
  afterAll(async () => {
    await deps?.close();
  });

  it("still commits and acknowledges sends, reads history from Postgres, and logs both", async () => {
    const server = await startThrowawayRedis();
    const client = await connectRedis({ url: server.url, logger: silent, name: "test-recent-down" });
    const lines: { msg: string }[] = [];
    try {
      const recent = createRedisRecentMessages({ client, prefix: uniqueRedisPrefix() });
      const messages = createMessageService({
        database: deps.database,
        rooms: deps.services.rooms,
        events: { toRoom: async () => {}, toUser: async () => {}, toInstances: async () => {} },
        rateLimiter: deps.rateLimiter,
        recentMessages: recent,
        logger: createLogger({ level: "warn", write: (line) => lines.push(JSON.parse(line)) }),
        sendRate: { capacity: 100, periodSeconds: 1 },
        metrics: deps.metrics,
      });
      const { room, members } = await roomWith(deps, 1);
      const first = await messages.send(members[0]!.id, { roomId: room.id, clientMsgId: clientMsgId("up"), body: "cached" });
      // Acks do not wait for the cache: wait for the first message to land there before Redis goes away.
      await vi.waitFor(async () => expect(await recent.range(room.id, 0, 1)).not.toBeNull());
      await server.stop();
      const second = await messages.send(members[0]!.id, { roomId: room.id, clientMsgId: clientMsgId("down"), body: "not cached" });
      expect(second).toMatchObject({ created: true, message: { seq: 2 } });
      await vi.waitFor(() => expect(lines.map((line) => line.msg)).toEqual(["recent messages not cached"]));
      expect(await messages.range(room.id, 0, 2, 10)).toEqual([first.message, second.message]);
      expect(lines.map((line) => line.msg)).toEqual(["recent messages not cached", "recent messages unreadable; reading Postgres"]);
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});
