import { and, asc, eq, gt, lte, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "../../infra/db/database.ts";
import { messages, roomEvents, rooms, users } from "../../infra/db/schema.ts";
import type { LoggedRoomEvent, LoggedRoomEventType } from "../events.ts";
import { messageColumns, senderColumns, toMessage } from "../messages/message-rows.ts";
import { roomColumns, toRoom } from "../rooms/room-access.ts";
import type { MemberRole } from "../rooms/rooms.schema.ts";
import type { UserPublic } from "../users/users.schema.ts";

/** What room_events.data holds, per event type (the rest comes from the projections). */
export type EventData =
  | { type: "message.created"; data: null }
  | { type: "member.joined"; data: { userId: string; role: MemberRole } }
  | { type: "member.left"; data: { userId: string; reason: "left" | "removed" } }
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
 * each built from its row and the current projections (the message as it is now, the member's profile, the room).
 */
export async function readLoggedEvents(db: Db, roomId: string, afterSeq: number, throughSeq: number, limit: number): Promise<LoggedRoomEvent[]> {
  const rows = await db
    .select({
      seq: roomEvents.seq,
      type: roomEvents.type,
      data: roomEvents.data,
      message: messageColumns,
      sender: senderColumns,
      subject: { id: subject.id, username: subject.username, displayName: subject.displayName },
    })
    .from(roomEvents)
    .leftJoin(messages, eq(messages.id, roomEvents.messageId))
    .leftJoin(users, eq(users.id, messages.senderId))
    .leftJoin(subject, sql`${subject.id} = (${roomEvents.data} ->> 'userId')::uuid`)
    .where(and(eq(roomEvents.roomId, roomId), gt(roomEvents.seq, afterSeq), lte(roomEvents.seq, throughSeq)))
    .orderBy(asc(roomEvents.seq))
    .limit(limit);
  const needsRoom = rows.some((row) => row.type === "room.updated");
  const [room] = needsRoom ? await db.select(roomColumns).from(rooms).where(eq(rooms.id, roomId)) : [];
  const events: LoggedRoomEvent[] = [];
  for (const row of rows) {
    const type = row.type as LoggedRoomEventType;
    const data = (row.data ?? {}) as Record<string, unknown>;
    switch (type) {
      case "message.created":
        if (row.message && row.sender) events.push({ type, roomId, seq: row.seq, message: toMessage({ message: row.message, sender: row.sender }) });
        break;
      case "member.joined":
        events.push({
          type,
          roomId,
          seq: row.seq,
          member: { user: row.subject ?? goneUser(String(data.userId)), role: data.role as MemberRole },
        });
        break;
      case "member.left":
        events.push({ type, roomId, seq: row.seq, userId: String(data.userId), reason: data.reason === "removed" ? "removed" : "left" });
        break;
      case "room.updated":
        // The room as it is now, at the event's position (which is what the live event carried as lastSeq).
        if (room) events.push({ type, roomId, seq: row.seq, room: { ...toRoom(room), lastSeq: row.seq } });
        break;
    }
  }
  return events;
}
