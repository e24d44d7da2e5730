import { and, eq, gt, gte, lt, lte, sql, type SQL } from "drizzle-orm";
import type { BucketRule } from "../../config.ts";
import { type Database, isUniqueViolation } from "../../infra/db/database.ts";
import { messages, roomMembers, rooms, users } from "../../infra/db/schema.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher } from "../events.ts";
import { notAMember } from "../rooms/room-access.ts";
import type { RoomService } from "../rooms/rooms.service.ts";
import { findMessages, toMessage } from "./message-rows.ts";
import { type ListMessagesInput, type Message, type MessagePage, SendMessageInput } from "./messages.schema.ts";

export type SendOutcome = { message: Message; created: true } | { message: Message; created: false };

export interface MessageService {
  /**
   * Commits the message with the room's next seq, then publishes `message.created`. Resolves only after the commit.
   * Idempotent on (sender, clientMsgId): a retry returns the original and publishes nothing
   * (CONFLICT if that id was used for a different room or body). Validates its input itself (the realtime layer
   * passes frames straight through). TOO_MANY_REQUESTS past the per-user send rate.
   */
  send(userId: string, input: SendMessageInput): Promise<SendOutcome>;
  /** Keyset pages on (room_id, seq): the newest, `before`, `after` or `around` a seq; always ascending. */
  list(userId: string, input: ListMessagesInput): Promise<MessagePage>;
  /**
   * Messages of a room with afterSeq < seq ≤ throughSeq, ascending, at most `limit`. No membership check:
   * for the realtime layer, which has checked membership already.
   */
  range(roomId: string, afterSeq: number, throughSeq: number, limit: number): Promise<Message[]>;
  /** The room's current last seq (0 for an empty or unknown room). */
  lastSeq(roomId: string): Promise<number>;
}

export interface MessageServiceDeps {
  database: Database;
  rooms: RoomService;
  events: EventPublisher;
  rateLimiter: RateLimiter;
  logger: Logger;
  sendRate: BucketRule;
}

export function createMessageService(deps: MessageServiceDeps): MessageService {
  const { db } = deps.database;

  async function findSent(senderId: string, clientMsgId: string): Promise<Message | null> {
    const [message] = await findMessages(db, {
      where: and(eq(messages.senderId, senderId), eq(messages.clientMsgId, clientMsgId)),
      order: "asc",
      limit: 1,
    });
    return message ?? null;
  }

  function replay(original: Message, input: SendMessageInput): SendOutcome {
    if (original.roomId !== input.roomId || original.body !== input.body) {
      throw new DomainError("CONFLICT", "clientMsgId was already used for a different message");
    }
    return { message: original, created: false };
  }

  /** One transaction: take the room's next seq, check membership, insert. Gapless because the room row is locked. */
  function commit(senderId: string, input: SendMessageInput): Promise<Message> {
    return db.transaction(async (tx) => {
      // The row lock is held until commit: concurrent senders to this room (on any connection or instance) queue here.
      const [room] = await tx
        .update(rooms)
        .set({ lastSeq: sql`${rooms.lastSeq} + 1`, updatedAt: sql`clock_timestamp()` })
        .where(eq(rooms.id, input.roomId))
        .returning({ seq: rooms.lastSeq });
      if (!room) throw notAMember();
      // Checked under the lock, so a leave or kick that held it first has committed and is seen here.
      const [sender] = await tx
        .select({ id: users.id, username: users.username, displayName: users.displayName })
        .from(roomMembers)
        .innerJoin(users, eq(users.id, roomMembers.userId))
        .where(and(eq(roomMembers.roomId, input.roomId), eq(roomMembers.userId, senderId)));
      if (!sender) throw notAMember();
      const [row] = await tx
        .insert(messages)
        .values({
          roomId: input.roomId,
          seq: room.seq,
          senderId,
          clientMsgId: input.clientMsgId,
          body: input.body,
          createdAt: sql`clock_timestamp()`, // not now(): the transaction may have waited for the lock
        })
        .returning({ id: messages.id, createdAt: messages.createdAt });
      if (!row) throw new Error("message insert returned nothing");
      return toMessage({
        message: { id: row.id, roomId: input.roomId, seq: room.seq, body: input.body, createdAt: row.createdAt },
        sender,
      });
    });
  }

  async function anyMessage(where: SQL | undefined): Promise<boolean> {
    const [row] = await db.select({ seq: messages.seq }).from(messages).where(where).limit(1);
    return row !== undefined;
  }

  return {
    async send(userId, raw) {
      const parsed = SendMessageInput.safeParse(raw);
      if (!parsed.success) {
        throw new DomainError("BAD_REQUEST", parsed.error.issues.map((issue) => issue.message).join("; "));
      }
      const input = parsed.data;
      const decision = await deps.rateLimiter.consume(`send:${userId}`, deps.sendRate);
      if (!decision.allowed) {
        throw new DomainError("TOO_MANY_REQUESTS", "sending too fast", decision.retryAfterSeconds);
      }
      const original = await findSent(userId, input.clientMsgId);
      if (original) return replay(original, input);
      let message: Message;
      try {
        message = await commit(userId, input);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // A concurrent send with the same clientMsgId committed first; ours rolled back, seq bump included.
        const winner = await findSent(userId, input.clientMsgId);
        if (!winner) throw error;
        return replay(winner, input);
      }
      try {
        await deps.events.toRoom(message.roomId, { type: "message.created", roomId: message.roomId, seq: message.seq, message });
      } catch (error) {
        // Committed is delivered: Postgres is the truth and subscribers fill seq gaps from it.
        deps.logger.error("message.created not published", { roomId: message.roomId, seq: message.seq, error });
      }
      return { message, created: true };
    },

    async list(userId, input) {
      await deps.rooms.requireMember(userId, input.roomId);
      const inRoom = eq(messages.roomId, input.roomId);
      const { limit } = input;
      if (input.around !== undefined) {
        const olderLimit = Math.floor(limit / 2);
        const newerLimit = limit - olderLimit; // includes the `around` message itself
        const [older, newer] = await Promise.all([
          findMessages(db, { where: and(inRoom, lt(messages.seq, input.around)), order: "desc", limit: olderLimit + 1 }),
          findMessages(db, { where: and(inRoom, gte(messages.seq, input.around)), order: "asc", limit: newerLimit + 1 }),
        ]);
        return {
          messages: [...older.slice(0, olderLimit).reverse(), ...newer.slice(0, newerLimit)],
          hasOlder: older.length > olderLimit,
          hasNewer: newer.length > newerLimit,
        };
      }
      if (input.after !== undefined) {
        const [page, hasOlder] = await Promise.all([
          findMessages(db, { where: and(inRoom, gt(messages.seq, input.after)), order: "asc", limit: limit + 1 }),
          anyMessage(and(inRoom, lte(messages.seq, input.after))),
        ]);
        return { messages: page.slice(0, limit), hasOlder, hasNewer: page.length > limit };
      }
      const before = input.before;
      const [page, hasNewer] = await Promise.all([
        findMessages(db, {
          where: and(inRoom, before === undefined ? undefined : lt(messages.seq, before)),
          order: "desc",
          limit: limit + 1,
        }),
        before === undefined ? false : anyMessage(and(inRoom, gte(messages.seq, before))),
      ]);
      return { messages: page.slice(0, limit).reverse(), hasOlder: page.length > limit, hasNewer };
    },

    range(roomId, afterSeq, throughSeq, limit) {
      return findMessages(db, {
        where: and(eq(messages.roomId, roomId), gt(messages.seq, afterSeq), lte(messages.seq, throughSeq)),
        order: "asc",
        limit,
      });
    },

    async lastSeq(roomId) {
      const [room] = await db.select({ lastSeq: rooms.lastSeq }).from(rooms).where(eq(rooms.id, roomId));
      return room?.lastSeq ?? 0;
    },
  };
}
