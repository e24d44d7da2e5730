import type { Redis } from "ioredis";
import { coveredRange, type EventFrame, RECENT_EVENTS_IDLE_SECONDS, RECENT_EVENTS_PER_ROOM, type RecentEvents } from "./recent-events.ts";

/**
 * Recent events shared by every instance: one sorted set per room at `${prefix}re:<roomId>`, scored by seq (a
 * frame is unique: it contains its seq), trimmed to the newest `perRoom` and expiring `idleSeconds` after its last
 * write. The client is shared and owned by the caller: `close()` leaves it open. Errors reject; the caller logs
 * them and reads Postgres instead.
 */
export function createRedisRecentEvents(options: { client: Redis; prefix: string; perRoom?: number; idleSeconds?: number }): RecentEvents {
  const { client } = options;
  const perRoom = options.perRoom ?? RECENT_EVENTS_PER_ROOM;
  const idleSeconds = Math.max(1, Math.ceil(options.idleSeconds ?? RECENT_EVENTS_IDLE_SECONDS));
  const keyOf = (roomId: string): string => `${options.prefix}re:${roomId}`;

  return {
    async append(events) {
      if (events.length === 0) return;
      const byRoom = new Map<string, (string | number)[]>();
      for (const event of events) {
        const scored = byRoom.get(event.roomId) ?? [];
        scored.push(event.seq, event.frame);
        byRoom.set(event.roomId, scored);
      }
      // One round trip for a whole committed batch, whatever rooms it touched.
      const pipeline = client.pipeline();
      for (const [roomId, scored] of byRoom) {
        const key = keyOf(roomId);
        pipeline.zadd(key, ...scored);
        pipeline.zremrangebyrank(key, 0, -(perRoom + 1)); // keep the newest perRoom
        pipeline.expire(key, idleSeconds);
      }
      const replies = await pipeline.exec();
      const failed = replies?.find(([error]) => error !== null)?.[0];
      if (failed) throw failed;
    },

    async range(roomId, afterSeq, throughSeq) {
      if (throughSeq <= afterSeq) return [];
      // One more than wanted, so a duplicate seq shows up as a miss, not a short answer.
      const reply = await client.zrangebyscore(keyOf(roomId), `(${afterSeq}`, throughSeq, "WITHSCORES", "LIMIT", 0, throughSeq - afterSeq + 1);
      const held: EventFrame[] = [];
      for (let i = 0; i + 1 < reply.length; i += 2) {
        const frame = reply[i] as string;
        // Members are written only by append(), as event JSON; anything else reads as a miss, never as an event.
        if (!frame.startsWith("{")) return null;
        held.push({ roomId, seq: Number(reply[i + 1]), frame });
      }
      return coveredRange(held, afterSeq, throughSeq);
    },

    async forget(roomId) {
      await client.del(keyOf(roomId));
    },

    close: async () => {},
  };
}
