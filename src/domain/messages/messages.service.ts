import { and, asc, desc, eq, gt, gte, isNotNull, lt, lte, type SQL, sql } from "drizzle-orm";
import type { BucketRule } from "../../config.ts";
import type { Database } from "../../infra/db/database.ts";
import { messageEdits, messageReactions, messages, users } from "../../infra/db/schema.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import { type Clock, systemClock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { Metrics } from "../../lib/metrics.ts";
import type { RoomLog } from "../room-log/room-log.ts";
import { requirePermission } from "../rooms/permissions.ts";
import { findMemberRoom, requireVisible } from "../rooms/room-access.ts";
import type { RoomService } from "../rooms/rooms.service.ts";
import type { SendOutcome } from "./message-commits.ts";
import { hasLinkIn, mentionsIn } from "./mentions.ts";
import { MAX_PINS } from "./message-changes.ts";
import { findMessages, findMessagesByIds } from "./message-rows.ts";
import { type BatchReport, createMessageWriter } from "./message-writer.ts";
import {
  type ListMessagesInput,
  type Message,
  type MessageEdits,
  type MessagePage,
  type MessageRef,
  type PinnedInput,
  type Reactors,
  type ReactorsInput,
  SendMessageInput,
  type ThreadInput,
  type ThreadPage,
} from "./messages.schema.ts";
import { encodeCursor } from "../rooms/page-cursor.ts";

export type { SendOutcome } from "./message-commits.ts";

export interface MessageService {
  /**
   * Commits the message with the room's next seq, then publishes `message.created`. Resolves only after the commit.
   * Idempotent on (sender, clientMsgId): a retry returns the original and publishes nothing
   * (CONFLICT if that id was used for a different room or body). Validates its input itself (the realtime layer
   * passes frames straight through). TOO_MANY_REQUESTS past the per-user send rate. The send gate (decided in the
   * commit, under the room's lock): FORBIDDEN reason EMAIL_UNVERIFIED (REQUIRE_VERIFIED_EMAIL), MUTED, POST_POLICY or BLOCKED (direct rooms), TOO_MANY_REQUESTS
   * reason SLOW_MODE with retryAfterSeconds.
   */
  send(userId: string, input: SendMessageInput): Promise<SendOutcome>;
  /** Keyset pages on (room_id, seq) of the main timeline: the newest, `before`, `after` or `around` a seq; ascending. */
  list(userId: string, input: ListMessagesInput): Promise<MessagePage>;
  /** A thread's root and its replies after `cursor`, ascending. */
  thread(userId: string, input: ThreadInput): Promise<ThreadPage>;
  /** The bodies a message had before its edits: its sender, and moderators and up (ROOM_PERMISSIONS readEditHistory). */
  edits(userId: string, input: MessageRef): Promise<MessageEdits>;
  /** Who reacted with one emoji, in the order they did. */
  reactors(userId: string, input: ReactorsInput): Promise<Reactors>;
  /** The room's pinned messages, the most recently pinned first. */
  pinned(userId: string, input: PinnedInput): Promise<Message[]>;
}

export interface MessageServiceDeps {
  database: Database;
  rooms: RoomService;
  /** Publishes and caches each batch's new messages after its commit. */
  log: Pick<RoomLog, "announce">;
  rateLimiter: RateLimiter;
  logger: Logger;
  metrics: Metrics;
  sendRate: BucketRule;
  /** When mutes are over, for the send gate (default: the system clock). */
  clock?: Clock;
  /** REQUIRE_VERIFIED_EMAIL: sends of users without a verified address are refused (FORBIDDEN, EMAIL_UNVERIFIED). */
  requireVerifiedEmail?: boolean;
  /** Group commit: the most sends per transaction (default 256), and a report after each batch (tests, metrics). */
  batching?: { maxBatchSize?: number; maxQueued?: number; onBatch?: (report: BatchReport) => void };
}

export function createMessageService(deps: MessageServiceDeps): MessageService {
  const { db } = deps.database;
  const writer = createMessageWriter({
    db,
    // PGlite is one connection whose protocol exchanges must not interleave; postgres.js pipelines them.
    statements: deps.database.kind === "postgres" ? "pipelined" : "sequential",
    log: deps.log,
    logger: deps.logger,
    clock: deps.clock ?? systemClock,
    policy: { requireVerifiedEmail: deps.requireVerifiedEmail ?? false },
    maxBatchSize: deps.batching?.maxBatchSize,
    maxQueued: deps.batching?.maxQueued,
    onBatch: (report) => {
      deps.metrics.commitBatchSize.observe(report.sends);
      deps.metrics.commitSeconds.observe({ path: report.path }, report.seconds);
      deps.metrics.messagesCommitted.inc(report.created);
      deps.batching?.onBatch?.(report);
    },
  });

  /** The room and sender of a message, for the membership check that comes first; NOT_FOUND for no such message. */
  async function locate(messageId: string): Promise<{ roomId: string; senderId: string; seq: number }> {
    const [row] = await db
      .select({ roomId: messages.roomId, senderId: messages.senderId, seq: messages.seq })
      .from(messages)
      .where(eq(messages.id, messageId));
    if (!row) throw new DomainError("NOT_FOUND", "no such message");
    return row;
  }

  /** The messages a reader whose history starts at `visibleFrom` may see (no condition for the whole history). */
  function since(visibleFrom: number): SQL | undefined {
    return visibleFrom > 0 ? gte(messages.seq, visibleFrom) : undefined;
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
      // Queued for the next group commit; resolves after that commit.
      const started = performance.now();
      const outcome = (result: string) => deps.metrics.sendAckSeconds.observe({ outcome: result }, (performance.now() - started) / 1000);
      try {
        const sent = await writer.write({ senderId: userId, input, mentions: mentionsIn(input.body), hasLink: hasLinkIn(input.body) });
        outcome("ok");
        return sent;
      } catch (error) {
        outcome(error instanceof DomainError ? error.code : "error");
        throw error;
      }
    },

    async thread(userId, input) {
      const located = await locate(input.rootId);
      const { visibleFrom } = await findMemberRoom(db, userId, located.roomId);
      // Its replies come after it: a root the reader may see has only replies they may see.
      requireVisible(located.seq, visibleFrom);
      const [root] = await findMessagesByIds(db, [input.rootId], userId);
      if (!root) throw new DomainError("NOT_FOUND", "no such message");
      if (root.threadRootId !== null) throw new DomainError("BAD_REQUEST", "that message is a reply in a thread, not a thread's root");
      const replies = await findMessages(db, {
        where: and(eq(messages.threadRootId, input.rootId), input.cursor === undefined ? undefined : gt(messages.seq, input.cursor)),
        order: "asc",
        limit: input.limit + 1,
        viewerId: userId,
      });
      const page = replies.slice(0, input.limit);
      return { root, replies: page, nextCursor: replies.length > input.limit ? (page.at(-1)?.seq ?? null) : null };
    },

    async edits(userId, input) {
      const located = await locate(input.messageId);
      const { role, visibleFrom } = await findMemberRoom(db, userId, located.roomId);
      requireVisible(located.seq, visibleFrom);
      if (located.senderId !== userId) requirePermission(role, "readEditHistory");
      const rows = await db
        .select({ version: messageEdits.version, body: messageEdits.body, replacedAt: messageEdits.replacedAt })
        .from(messageEdits)
        .where(eq(messageEdits.messageId, input.messageId))
        .orderBy(asc(messageEdits.version));
      return { messageId: input.messageId, versions: rows.map((row) => ({ ...row, replacedAt: row.replacedAt.toISOString() })) };
    },

    async reactors(userId, input) {
      const located = await locate(input.messageId);
      const { visibleFrom } = await findMemberRoom(db, userId, located.roomId);
      requireVisible(located.seq, visibleFrom);
      const after = input.cursor;
      const rows = await db
        .select({
          user: { id: users.id, username: users.username, displayName: users.displayName },
          reactedAt: messageReactions.createdAt,
          // Kept as Postgres prints it: a JS Date would drop the microseconds and repeat rows across pages.
          reactedAtKey: sql<string>`${messageReactions.createdAt}::text`,
        })
        .from(messageReactions)
        .innerJoin(users, eq(users.id, messageReactions.userId))
        .where(
          and(
            eq(messageReactions.messageId, input.messageId),
            eq(messageReactions.emoji, input.emoji),
            after === undefined ? undefined : sql`(${messageReactions.createdAt}, ${messageReactions.userId}) > (${after[0]}::timestamptz, ${after[1]}::uuid)`,
          ),
        )
        .orderBy(asc(messageReactions.createdAt), asc(messageReactions.userId))
        .limit(input.limit + 1);
      const page = rows.slice(0, input.limit);
      const last = page.at(-1);
      return {
        items: page.map((row) => ({ user: row.user, reactedAt: row.reactedAt.toISOString() })),
        nextCursor: rows.length > input.limit && last ? encodeCursor([last.reactedAtKey, last.user.id]) : null,
      };
    },

    async pinned(userId, input) {
      const { visibleFrom } = await findMemberRoom(db, userId, input.roomId);
      return findMessages(db, {
        where: and(eq(messages.roomId, input.roomId), isNotNull(messages.pinnedAt), since(visibleFrom)),
        order: "desc",
        orderBy: [desc(messages.pinnedAt), desc(messages.seq)],
        limit: MAX_PINS,
        viewerId: userId,
      });
    },

    async list(userId, input) {
      // The room's position is read before its messages: every message up to it is then in what follows.
      const { room, visibleFrom } = await findMemberRoom(db, userId, input.roomId);
      const position = { lastSeq: room.lastSeq };
      // The main timeline: thread-only replies are read through messages.thread. In a "sinceJoin" room it starts
      // at the reader's join: nothing before it is listed, and hasOlder says false there.
      const inRoom = and(eq(messages.roomId, input.roomId), isNotNull(messages.mainOrdinal), since(visibleFrom));
      const viewerId = userId;
      const { limit } = input;
      if (input.around !== undefined) {
        const olderLimit = Math.floor(limit / 2);
        const newerLimit = limit - olderLimit; // includes the `around` message itself
        const [older, newer] = await Promise.all([
          findMessages(db, { where: and(inRoom, lt(messages.seq, input.around)), order: "desc", limit: olderLimit + 1, viewerId }),
          findMessages(db, { where: and(inRoom, gte(messages.seq, input.around)), order: "asc", limit: newerLimit + 1, viewerId }),
        ]);
        return {
          messages: [...older.slice(0, olderLimit).reverse(), ...newer.slice(0, newerLimit)],
          hasOlder: older.length > olderLimit,
          hasNewer: newer.length > newerLimit,
          ...position,
        };
      }
      if (input.after !== undefined) {
        const [page, hasOlder] = await Promise.all([
          findMessages(db, { where: and(inRoom, gt(messages.seq, input.after)), order: "asc", limit: limit + 1, viewerId }),
          anyMessage(and(inRoom, lte(messages.seq, input.after))),
        ]);
        return { messages: page.slice(0, limit), hasOlder, hasNewer: page.length > limit, ...position };
      }
      const before = input.before;
      const [page, hasNewer] = await Promise.all([
        findMessages(db, {
          where: and(inRoom, before === undefined ? undefined : lt(messages.seq, before)),
          order: "desc",
          limit: limit + 1,
          viewerId,
        }),
        before === undefined ? false : anyMessage(and(inRoom, gte(messages.seq, before))),
      ]);
      return { messages: page.slice(0, limit).reverse(), hasOlder: page.length > limit, hasNewer, ...position };
    },
  };
}
