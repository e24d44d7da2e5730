import { and, asc, eq, gt, lte, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "../../infra/db/database.ts";
import { roomEvents, rooms, users } from "../../infra/db/schema.ts";
import type { LoggedRoomEvent, LoggedRoomEventType, MemberLeftReason, ThreadRoot } from "../events.ts";
import { findMessagesByIds } from "../messages/message-rows.ts";
import type { Message } from "../messages/messages.schema.ts";
import { roomColumns, toRoom } from "../rooms/room-access.ts";
import type { MemberRole } from "../rooms/rooms.schema.ts";
import type { UserPublic } from "../users/users.schema.ts";

/** What room_events.data holds, per event type (the rest comes from the projections). */
export type EventData =
  | { type: "message.created"; data: null }
  | { type: "message.edited"; data: null }
  | { type: "message.deleted"; data: null }
  | { type: "reaction.added" | "reaction.removed"; data: { emoji: string; userId: string; count: number } }
  | { type: "message.pinned"; data: { at: string; byUserId: string } }
  | { type: "message.unpinned"; data: { byUserId: string } }
  | { type: "member.joined"; data: { userId: string; role: MemberRole } }
  | { type: "member.left"; data: { userId: string; reason: MemberLeftReason } }
  | { type: "member.role"; data: { userId: string; role: MemberRole; byUserId: string } }
  | { type: "member.muted"; data: { userId: string; until: string | null; byUserId: string } }
  | { type: "member.unmuted"; data: { userId: string; byUserId: string } }
  | { type: "room.updated"; data: null };

/** One event to append: its type, its data, who caused it and the message it is about. */
export type EventDraft = EventData & { actorId: string | null; messageId?: string };

const subject = alias(users, "subject");

/** A user who no longer exists, where an old event names them. */
function goneUser(id: string): UserPublic {
  return { id, username: "deleted", displayName: "Deleted user" };
}

/**
 * The room's logged events with afterSeq < seq ≤ throughSeq, ascending, at most `limit`, as clients receive them:
 * each built from its row and the current projections (the message as it is now — a deleted one as its tombstone —,
 * the member's profile, the room), so replaying them ends at the room as it is.
 */
export async function readLoggedEvents(db: Db, roomId: string, afterSeq: number, throughSeq: number, limit: number): Promise<LoggedRoomEvent[]> {
  const rows = await db
    .select({
      seq: roomEvents.seq,
      type: roomEvents.type,
      data: roomEvents.data,
      messageId: roomEvents.messageId,
      subject: { id: subject.id, username: subject.username, displayName: subject.displayName },
    })
    .from(roomEvents)
    .leftJoin(subject, sql`${subject.id} = (${roomEvents.data} ->> 'userId')::uuid and ${roomEvents.type} like 'member.%'`)
    .where(and(eq(roomEvents.roomId, roomId), gt(roomEvents.seq, afterSeq), lte(roomEvents.seq, throughSeq)))
    .orderBy(asc(roomEvents.seq))
    .limit(limit);
  const needsRoom = rows.some((row) => row.type === "room.updated");
  const [room] = needsRoom ? await db.select(roomColumns).from(rooms).where(eq(rooms.id, roomId)) : [];
  const messageIds = [...new Set(rows.flatMap((row) => (row.messageId && MESSAGE_BODIES.has(row.type) ? [row.messageId] : [])))];
  const byId = new Map((await findMessagesByIds(db, messageIds, null)).map((message) => [message.id, message]));
  // Thread replies created or deleted in the page: their roots' summaries as they are now.
  const rootIds = [...new Set([...byId.values()].flatMap((message) => (message.threadRootId && !byId.has(message.threadRootId) ? [message.threadRootId] : [])))];
  for (const root of await findMessagesByIds(db, rootIds, null)) byId.set(root.id, root);
  const rootOf = (message: Message): ThreadRoot | undefined => {
    if (!message.threadRootId) return undefined;
    const root = byId.get(message.threadRootId);
    return root ? { messageId: root.id, thread: root.thread } : undefined;
  };
  const events: LoggedRoomEvent[] = [];
  for (const row of rows) {
    const type = row.type as LoggedRoomEventType;
    const data = (row.data ?? {}) as Record<string, unknown>;
    const seq = row.seq;
    const message = row.messageId ? byId.get(row.messageId) : undefined;
    const messageId = String(row.messageId);
    switch (type) {
      case "message.created": {
        if (!message) break;
        const root = rootOf(message);
        events.push(root ? { type, roomId, seq, message, root } : { type, roomId, seq, message });
        break;
      }
      case "message.edited":
        if (message) events.push({ type, roomId, seq, messageId, message });
        break;
      case "message.deleted": {
        if (!message) break;
        const root = rootOf(message);
        events.push(root ? { type, roomId, seq, messageId, message, root } : { type, roomId, seq, messageId, message });
        break;
      }
      case "reaction.added":
      case "reaction.removed":
        events.push({ type, roomId, seq, messageId, emoji: String(data.emoji), userId: String(data.userId), count: Number(data.count) });
        break;
      case "message.pinned":
        events.push({ type, roomId, seq, messageId, pinned: { at: String(data.at), byUserId: String(data.byUserId) } });
        break;
      case "message.unpinned":
        events.push({ type, roomId, seq, messageId, byUserId: String(data.byUserId) });
        break;
      case "member.joined":
        events.push({
          type,
          roomId,
          seq,
          member: { user: row.subject ?? goneUser(String(data.userId)), role: data.role as MemberRole },
        });
        break;
      case "member.left":
        events.push({ type, roomId, seq, userId: String(data.userId), reason: leftReason(data.reason) });
        break;
      case "member.role":
        // The role given then: later changes are later events.
        events.push({ type, roomId, seq, userId: String(data.userId), role: data.role as MemberRole, byUserId: String(data.byUserId) });
        break;
      case "member.muted":
        events.push({ type, roomId, seq, userId: String(data.userId), until: typeof data.until === "string" ? data.until : null, byUserId: String(data.byUserId) });
        break;
      case "member.unmuted":
        events.push({ type, roomId, seq, userId: String(data.userId), byUserId: String(data.byUserId) });
        break;
      case "room.updated":
        // The room as it is now, at the event's position (which is what the live event carried as lastSeq).
        if (room) events.push({ type, roomId, seq, room: { ...toRoom(room), lastSeq: seq } });
        break;
    }
  }
  return events;
}

/** Rows written before a reason existed read as "left". */
function leftReason(stored: unknown): MemberLeftReason {
  return stored === "removed" || stored === "banned" ? stored : "left";
}

/** The event types that carry the message they are about, whole. */
const MESSAGE_BODIES = new Set(["message.created", "message.edited", "message.deleted"]);
