import { getTableName, type SQL, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import { rooms } from "../../infra/db/schema.ts";

/**
 * Unread: other members' main-timeline messages after my read watermark — not edits, reactions, memberships or
 * room changes (they have seqs too, but are not messages to read), not thread-only replies (a reply sent with
 * `alsoInRoom` is on the main timeline and counts), and not messages deleted since.
 *
 * Counted without scanning the timeline: every main-timeline message carries its room's running count
 * (`main_ordinal`), so "how many after seq n" is `rooms.main_count` minus the ordinal of the newest such message at
 * or before n — one index probe. What remains to subtract is my own messages after my watermark: an index range on
 * (room, sender, seq), short for anyone who reads what they reply to (only a sender that never reads, a bot, pays
 * for its whole backlog of sends there) — and others' messages deleted after it: a partial index holds only deleted
 * messages.
 *
 * For a query whose FROM has `rooms` (and, when readSeq is a column, its table).
 */
export function unreadCount(userId: string, readSeq: AnyPgColumn | number): SQL<number> {
  // Qualified by hand: drizzle renders a lone column unqualified, which inside these subqueries on messages would
  // silently mean messages.id instead of rooms.id.
  const roomId = qualified(rooms.id);
  const watermark = typeof readSeq === "number" ? sql`${readSeq}` : qualified(readSeq);
  return sql<number>`greatest(0, ${qualified(rooms.mainCount)}
    - coalesce((select at_read.main_ordinal from messages at_read
        where at_read.room_id = ${roomId} and at_read.seq <= ${watermark} and at_read.main_ordinal is not null
        order by at_read.seq desc limit 1), 0)
    - (select count(*) from messages own
        where own.room_id = ${roomId} and own.sender_id = ${userId} and own.seq > ${watermark}
          and own.main_ordinal is not null)
    - (select count(*) from messages gone
        where gone.room_id = ${roomId} and gone.seq > ${watermark} and gone.deleted_at is not null
          and gone.main_ordinal is not null and gone.sender_id <> ${userId}))`.mapWith(Number);
}

/**
 * Unread mentions of me: messages after my read watermark that name me (`@username`, kept in message_mentions
 * when sent or edited) or the whole room (`@room` by a moderator and up), not mine, not deleted — each counted once.
 * Thread replies count too: a mention reaches me wherever it is. Two index ranges over only what is unread.
 */
export function unreadMentionsCount(userId: string, readSeq: AnyPgColumn | number): SQL<number> {
  const roomId = qualified(rooms.id);
  const watermark = typeof readSeq === "number" ? sql`${readSeq}` : qualified(readSeq);
  return sql<number>`((select count(*) from message_mentions named
        where named.user_id = ${userId} and named.room_id = ${roomId} and named.seq > ${watermark})
    + (select count(*) from messages everyone
        where everyone.room_id = ${roomId} and everyone.seq > ${watermark} and everyone.mentions_room
          and everyone.deleted_at is null and everyone.sender_id <> ${userId}
          and not (${userId}::uuid = any(everyone.mentions))))`.mapWith(Number);
}

function qualified(column: AnyPgColumn): SQL {
  return sql`${sql.identifier(getTableName(column.table))}.${sql.identifier(column.name)}`;
}
