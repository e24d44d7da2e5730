import type { Redis } from "ioredis";
import type { Message } from "../../domain/messages/messages.schema.ts";
import { coveredRange, RECENT_MESSAGES_IDLE_SECONDS, RECENT_MESSAGES_PER_ROOM, type RecentMessages } from "./recent-messages.ts";

/**
 * Recent messages shared by every instance: one sorted set per room at `${prefix}rm:<roomId>`, scored by seq,
 * trimmed to the newest `perRoom` and expiring `idleSeconds` after its last write. The client is shared and owned
 * by the caller: `close()` leaves it open. Errors reject; the caller logs them and reads Postgres instead.
 */
export function createRedisRecentMessages(options: {
  client: Redis;
  prefix: string;
  perRoom?: number;
  idleSeconds?: number;
}): RecentMessages {
  const { client } = options;
  const perRoom = options.perRoom ?? RECENT_MESSAGES_PER_ROOM;
  const idleSeconds = Math.max(1, Math.ceil(options.idleSeconds ?? RECENT_MESSAGES_IDLE_SECONDS));
  const keyOf = (roomId: string): string => `${options.prefix}rm:${roomId}`;

  return {
    async append(messages) {
      if (messages.length === 0) return;
      const byRoom = new Map<string, (string | number)[]>();
      for (const message of messages) {
        const scored = byRoom.get(message.roomId) ?? [];
        scored.push(message.seq, JSON.stringify(message));
        byRoom.set(message.roomId, scored);
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
      // One more than wanted, so a duplicate seq (never written by this code) shows up as a miss, not a short answer.
      const members = await client.zrangebyscore(keyOf(roomId), `(${afterSeq}`, throughSeq, "LIMIT", 0, throughSeq - afterSeq + 1);
      const held: Message[] = [];
      for (const member of members) {
        const message = decode(member);
        if (!message || message.roomId !== roomId) return null;
        held.push(message);
      }
      return coveredRange(held, afterSeq, throughSeq);
    },

    close: async () => {},
  };
}

/** Members are written only by append() above; anything else reads as a miss rather than a wrong message. */
function decode(member: string): Message | null {
  try {
    const message = JSON.parse(member) as Partial<Message> | null;
    return message && typeof message.seq === "number" && typeof message.roomId === "string" ? (message as Message) : null;
  } catch {
    return null;
  }
}
