import { and, eq, gt } from "drizzle-orm";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMessageService } from "../../src/domain/messages/messages.service.ts";
import { readLoggedEvents } from "../../src/domain/room-log/event-rows.ts";
import { createRoomLog, frameOf } from "../../src/domain/room-log/room-log.ts";
import { roomEvents } from "../../src/infra/db/schema.ts";
import { createMemoryRecentEvents } from "../../src/infra/recent-events/memory.ts";
import type { RecentEvents } from "../../src/infra/recent-events/recent-events.ts";
import { createRedisRecentEvents } from "../../src/infra/recent-events/redis.ts";
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

describe.each(cases)("the room log's range on $database with the $cache recent-events cache", ({ database, cache }) => {
  let deps: TestDeps;
  let redis: Redis | null = null;
  const prefix = uniqueRedisPrefix();
  beforeAll(async () => {
    let recentEvents: RecentEvents;
    if (cache === "redis" && redisUrl) {
      redis = await connectRedis({ url: redisUrl, logger: silent, name: "test-recent-range" });
      recentEvents = createRedisRecentEvents({ client: redis, prefix, perRoom: PER_ROOM });
    } else {
      recentEvents = createMemoryRecentEvents({ clock: systemClock, perRoom: PER_ROOM });
    }
    deps = await createTestDeps(database, { recentEvents });
  });
  afterAll(async () => {
    await deps?.close();
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await closeRedis(redis);
    }
  });

  /** A room of one member (so no join takes a seq) with `count` messages: seqs 1…count. */
  async function sendMany(count: number): Promise<string> {
    const { room, members } = await roomWith(deps, 1);
    for (let i = 1; i <= count; i++) {
      await deps.services.messages.send(members[0]!.id, { roomId: room.id, clientMsgId: clientMsgId("rc"), body: `#${i}` });
    }
    return room.id;
  }

  const seqsOf = (frames: { seq: number }[]): number[] => frames.map((frame) => frame.seq);

  it("serves a range the cache holds from the cache, and one reaching further back from Postgres", async () => {
    const roomId = await sendMany(15); // the cache holds the newest 10: 6…15
    // A probe only a test may use: events 11…15 vanish from Postgres, so an answer that has them came from the cache.
    await deps.database.db.delete(roomEvents).where(and(eq(roomEvents.roomId, roomId), gt(roomEvents.seq, 10)));
    const log = deps.services.roomLog;
    const cached = await log.range(roomId, 10, 15, 100);
    expect(seqsOf(cached)).toEqual([11, 12, 13, 14, 15]);
    expect(cached.map((frame) => (JSON.parse(frame.frame) as { message: { body: string } }).message.body)).toEqual(["#11", "#12", "#13", "#14", "#15"]);
    expect(seqsOf(await log.range(roomId, 12, 15, 2))).toEqual([13, 14]);
    // 5…15 is not all in the cache: Postgres answers, with what it has.
    expect(seqsOf(await log.range(roomId, 4, 15, 100))).toEqual([5, 6, 7, 8, 9, 10]);
  });

  it("answers every window byte for byte as Postgres does, whether the cache holds it or not", async () => {
    const roomId = await sendMany(25);
    const windows = [0, 5, 14, 15, 16, 20, 24, 25].flatMap((after) =>
      [after, after + 1, 20, 25, 27].filter((through) => through >= after).flatMap((through) => [1, 7, 500].map((limit) => ({ after, through, limit }))),
    );
    for (const { after, through, limit } of windows) {
      const expected = (await readLoggedEvents(deps.database.db, roomId, after, through, limit)).map(frameOf);
      const answered = await deps.services.roomLog.range(roomId, after, through, limit);
      expect(answered, `range(${after}, ${through}, ${limit})`).toEqual(expected);
    }
  });
});

describe.skipIf(!redisUrl)("messages when the recent-events cache is unreachable", () => {
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
      const recent = createRedisRecentEvents({ client, prefix: uniqueRedisPrefix() });
      const logger = createLogger({ level: "warn", write: (line) => lines.push(JSON.parse(line)) });
      const log = createRoomLog({
        database: deps.database,
        events: { toRoom: async () => {}, toUser: async () => {}, toInstances: async () => {} },
        recentEvents: recent,
        logger,
      });
      const messages = createMessageService({
        database: deps.database,
        rooms: deps.services.rooms,
        log,
        rateLimiter: deps.rateLimiter,
        logger,
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
      await vi.waitFor(() => expect(lines.map((line) => line.msg)).toEqual(["recent events not cached"]));
      const history = (await log.range(room.id, 0, 2, 10)).map((frame) => (JSON.parse(frame.frame) as { message: unknown }).message);
      expect(history).toEqual([first.message, second.message]);
      expect(lines.map((line) => line.msg)).toEqual(["recent events not cached", "recent events unreadable; reading Postgres"]);
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});
