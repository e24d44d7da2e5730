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
 * messages. Nor do messages of people I blocked (users.block): for each of them — usually none, so one probe of
 * user_blocks' primary key — an index range on (room, sender, seq) after my watermark, deleted ones left to `gone`.
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
          and gone.main_ordinal is not null and gone.sender_id <> ${userId})
    - coalesce((select sum((select count(*) from messages blocked_sender
        where blocked_sender.room_id = ${roomId} and blocked_sender.sender_id = my_blocks.blocked_id
          and blocked_sender.seq > ${watermark} and blocked_sender.main_ordinal is not null
          and blocked_sender.deleted_at is null))
        from user_blocks my_blocks where my_blocks.blocker_id = ${userId}), 0))`.mapWith(Number);
}

/**
 * Unread mentions of me: messages after my read watermark that name me (`@username`, kept in message_mentions
 * when sent or edited) or the whole room (`@room` by a moderator and up), not mine, not deleted, not by someone I
 * blocked — each counted once. Thread replies count too: a mention reaches me wherever it is. Two index ranges over
 * only what is unread (each row also probes user_blocks' primary key: nothing when I blocked nobody).
 */
export function unreadMentionsCount(userId: string, readSeq: AnyPgColumn | number): SQL<number> {
  const roomId = qualified(rooms.id);
  const watermark = typeof readSeq === "number" ? sql`${readSeq}` : qualified(readSeq);
  return sql<number>`((select count(*) from message_mentions named
        where named.user_id = ${userId} and named.room_id = ${roomId} and named.seq > ${watermark}
          and not exists (select 1 from user_blocks my_blocks join messages by_blocked on by_blocked.id = named.message_id
            where my_blocks.blocker_id = ${userId} and my_blocks.blocked_id = by_blocked.sender_id))
    + (select count(*) from messages everyone
        where everyone.room_id = ${roomId} and everyone.seq > ${watermark} and everyone.mentions_room
          and everyone.deleted_at is null and everyone.sender_id <> ${userId}
          and not (${userId}::uuid = any(everyone.mentions))
          and not exists (select 1 from user_blocks my_blocks
            where my_blocks.blocker_id = ${userId} and my_blocks.blocked_id = everyone.sender_id)))`.mapWith(Number);
}

function qualified(column: AnyPgColumn): SQL {
  return sql`${sql.identifier(getTableName(column.table))}.${sql.identifier(column.name)}`;
}
