import { and, asc, eq, gt, lte, ne, sql } from "drizzle-orm";
import type { Database } from "../../infra/db/database.ts";
import { messages, receiptMarks, roomMembers, rooms, users } from "../../infra/db/schema.ts";
import type { Clock } from "../../lib/clock.ts";
import { unreadCount, unreadMentionsCount } from "../rooms/unread.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher, ReceiptUpdated } from "../events.ts";
import { notAMember } from "../rooms/room-access.ts";
import type { RoomService } from "../rooms/rooms.service.ts";
import type { MarkInput, MessageStatus, MessageStatusInput, ReadState } from "./receipts.schema.ts";

export interface ReceiptService {
  /** Everything up to `seq` was read (and so delivered). Announces the move; all the reader's devices get the new unread count. */
  markRead(userId: string, input: MarkInput): Promise<ReadState>;
  /** Everything up to `seq` reached one of the user's devices (the SDK reports it as events arrive). */
  markDelivered(userId: string, input: MarkInput): Promise<ReadState>;
  /** Per member of the room when the message was sent: when it was delivered to and read by them. */
  status(userId: string, input: MessageStatusInput): Promise<MessageStatus>;
}

export interface ReceiptServiceDeps {
  database: Database;
  rooms: RoomService;
  events: EventPublisher;
  clock: Clock;
  logger: Logger;
  /** Rooms with more members than this do not broadcast receipts (O(members²) traffic); status stays queryable. */
  receiptEventsMaxMembers: number;
}

type Kind = "read" | "delivered";

/**
 * Receipts as per-member watermarks that only move forward, with the time of each move kept as one row
 * (`receipt_marks`): "when did X read message n" is X's first read mark at or past n — no row per message.
 */
export function createReceiptService(deps: ReceiptServiceDeps): ReceiptService {
  const { db } = deps.database;

  /** Unread after `readSeq` (see rooms/unread.ts for what counts and how it is computed without a scan). */
  async function unreadOf(userId: string, roomId: string, readSeq: number): Promise<{ unread: number; unreadMentions: number }> {
    const [row] = await db
      .select({ unread: unreadCount(userId, readSeq), unreadMentions: unreadMentionsCount(userId, readSeq) })
      .from(rooms)
      .where(eq(rooms.id, roomId));
    return row ?? { unread: 0, unreadMentions: 0 };
  }

  async function move(userId: string, input: MarkInput, kind: Kind): Promise<ReadState> {
    const now = deps.clock.now();
    const outcome = await db.transaction(async (tx) => {
      const [row] = await tx
        .select({
          lastSeq: rooms.lastSeq,
          readSeq: roomMembers.lastReadSeq,
          deliveredSeq: roomMembers.lastDeliveredSeq,
          privateReceipts: users.privateReceipts,
        })
        .from(roomMembers)
        .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
        .innerJoin(users, eq(users.id, roomMembers.userId))
        .where(and(eq(roomMembers.roomId, input.roomId), eq(roomMembers.userId, userId)))
        .for("update", { of: roomMembers }); // two devices marking at once: one waits, neither moves backwards
      if (!row) throw notAMember();
      if (input.seq > row.lastSeq) throw new DomainError("BAD_REQUEST", `seq ${input.seq} is past the room's last message (${row.lastSeq})`);
      const readSeq = kind === "read" ? Math.max(row.readSeq, input.seq) : row.readSeq;
      const deliveredSeq = Math.max(row.deliveredSeq, input.seq); // reading implies delivery
      const moved = { read: readSeq > row.readSeq, delivered: deliveredSeq > row.deliveredSeq };
      if (moved.read || moved.delivered) {
        await tx
          .update(roomMembers)
          .set({
            lastReadSeq: readSeq,
            lastDeliveredSeq: deliveredSeq,
            ...(moved.read ? { readAt: now } : {}),
            ...(moved.delivered ? { deliveredAt: now } : {}),
          })
          .where(and(eq(roomMembers.roomId, input.roomId), eq(roomMembers.userId, userId)));
        const marks = [
          ...(moved.delivered ? [{ kind: "delivered" as const, seq: deliveredSeq }] : []),
          ...(moved.read ? [{ kind: "read" as const, seq: readSeq }] : []),
        ];
        await tx
          .insert(receiptMarks)
          .values(marks.map((mark) => ({ roomId: input.roomId, userId, kind: mark.kind, seq: mark.seq, at: now })))
          .onConflictDoNothing();
      }
      return { ...row, readSeq, deliveredSeq, moved };
    });
    const state: ReadState = {
      roomId: input.roomId,
      readSeq: outcome.readSeq,
      deliveredSeq: outcome.deliveredSeq,
      ...(await unreadOf(userId, input.roomId, outcome.readSeq)),
    };
    if (outcome.moved.read || outcome.moved.delivered) await announce(userId, state, outcome.moved, outcome.privateReceipts);
    return state;
  }

  async function announce(userId: string, state: ReadState, moved: Record<Kind, boolean>, privateReceipts: boolean): Promise<void> {
    const receipt: ReceiptUpdated = {
      type: "receipt.updated",
      roomId: state.roomId,
      userId,
      ...(moved.delivered ? { deliveredSeq: state.deliveredSeq } : {}),
      ...(moved.read ? { readSeq: state.readSeq } : {}),
    };
    const toRoom = !privateReceipts && (await memberCountAtMost(state.roomId, deps.receiptEventsMaxMembers));
    const publications = [
      toRoom ? deps.events.toRoom(state.roomId, receipt) : deps.events.toUser(userId, receipt),
      ...(moved.read
        ? [deps.events.toUser(userId, { type: "unread.updated", roomId: state.roomId, readSeq: state.readSeq, unread: state.unread, unreadMentions: state.unreadMentions })]
        : []),
    ];
    const failed = (await Promise.allSettled(publications)).filter((result) => result.status === "rejected");
    // The watermark is committed (the truth); a lost announcement is corrected by the next mark or a rooms.list.
    if (failed.length > 0) deps.logger.warn("receipt not announced", { roomId: state.roomId, userId, failed: failed.length });
  }

  async function memberCountAtMost(roomId: string, max: number): Promise<boolean> {
    const [room] = await db.select({ members: rooms.memberCount }).from(rooms).where(eq(rooms.id, roomId));
    return (room?.members ?? 0) <= max;
  }

  /** The time a member's watermark of `kind` first reached `seq`, as epoch ms (portable across both drivers). */
  const firstMarkAt = (kind: Kind, seq: number) =>
    sql<number | null>`(select (extract(epoch from ${receiptMarks.at}) * 1000)::float8 from ${receiptMarks}
      where ${receiptMarks.roomId} = ${roomMembers.roomId} and ${receiptMarks.kind} = ${kind}
        and ${receiptMarks.userId} = ${roomMembers.userId} and ${receiptMarks.seq} >= ${seq}
      order by ${receiptMarks.seq} asc limit 1)`.mapWith((value: unknown) => (value === null ? null : Number(value)));

  return {
    markRead: (userId, input) => move(userId, input, "read"),
    markDelivered: (userId, input) => move(userId, input, "delivered"),

    async status(userId, input) {
      await deps.rooms.requireMember(userId, input.roomId);
      const [message] = await db
        .select({ senderId: messages.senderId, createdAt: messages.createdAt })
        .from(messages)
        .where(and(eq(messages.roomId, input.roomId), eq(messages.seq, input.seq)));
      if (!message) throw new DomainError("NOT_FOUND", `no message ${input.seq} in this room`);
      const rows = await db
        .select({
          userId: roomMembers.userId,
          privateReceipts: users.privateReceipts,
          deliveredAt: firstMarkAt("delivered", input.seq),
          readAt: firstMarkAt("read", input.seq),
        })
        .from(roomMembers)
        .innerJoin(users, eq(users.id, roomMembers.userId))
        .where(
          and(
            eq(roomMembers.roomId, input.roomId),
            ne(roomMembers.userId, message.senderId),
            lte(roomMembers.joinedAt, message.createdAt),
            input.cursor ? gt(roomMembers.userId, input.cursor) : undefined,
          ),
        )
        .orderBy(asc(roomMembers.userId))
        .limit(input.limit + 1);
      const page = rows.slice(0, input.limit);
      const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
      return {
        roomId: input.roomId,
        seq: input.seq,
        senderId: message.senderId,
        sentAt: message.createdAt.toISOString(),
        members: page.map((row) => {
          // Private receipts are private from everyone but their owner, here as in the events.
          const hidden = row.privateReceipts && row.userId !== userId;
          return { userId: row.userId, deliveredAt: hidden ? null : iso(row.deliveredAt), readAt: hidden ? null : iso(row.readAt) };
        }),
        nextCursor: rows.length > input.limit ? (page.at(-1)?.userId ?? null) : null,
      };
    },
  };
}
