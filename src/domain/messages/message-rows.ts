import { asc, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "../../infra/db/database.ts";
import { messages, users } from "../../infra/db/schema.ts";
import type { UserPublic } from "../users/users.schema.ts";
import type { Attachment, Message, MessageKind, ReactionCount, ReplyQuote } from "./messages.schema.ts";

/** How much of a replied-to message a reply quotes. */
export const EXCERPT_CHARS = 140;
/** How many of a thread's repliers its root names. */
export const MAX_THREAD_PARTICIPANTS = 10;

/** A message's own columns; read together with `senderColumns` (messages joined to users on sender_id). */
export const messageColumns = {
  id: messages.id,
  roomId: messages.roomId,
  seq: messages.seq,
  kind: messages.kind,
  body: messages.body,
  createdAt: messages.createdAt,
  editedAt: messages.editedAt,
  deletedAt: messages.deletedAt,
  deletedBy: messages.deletedBy,
  replyToId: messages.replyToId,
  threadRootId: messages.threadRootId,
  alsoInRoom: messages.alsoInRoom,
  threadReplyCount: messages.threadReplyCount,
  threadLastReplyAt: messages.threadLastReplyAt,
  mentions: messages.mentions,
  mentionsRoom: messages.mentionsRoom,
  reactions: messages.reactions,
  pinnedAt: messages.pinnedAt,
  pinnedBy: messages.pinnedBy,
  hasLink: messages.hasLink,
  attachments: messages.attachments,
};

export const senderColumns = { id: users.id, username: users.username, displayName: users.displayName };

/** What a message row holds, as read through `messageColumns`. */
export interface StoredMessage {
  id: string;
  roomId: string;
  seq: number;
  kind: string;
  body: string;
  createdAt: Date;
  editedAt: Date | null;
  deletedAt: Date | null;
  deletedBy: string | null;
  replyToId: string | null;
  threadRootId: string | null;
  alsoInRoom: boolean;
  threadReplyCount: number;
  threadLastReplyAt: Date | null;
  mentions: string[];
  mentionsRoom: boolean;
  reactions: unknown;
  pinnedAt: Date | null;
  pinnedBy: string | null;
  hasLink: boolean;
  /** `Attachment[]` as the send stored it. */
  attachments: unknown;
}

/** Everything a `Message` is built from: the row, its sender, the quote of its target and its thread's repliers. */
export interface MessageRow {
  message: StoredMessage;
  sender: UserPublic;
  /** The replied-to message, as it is now (null when the message replies to nothing). */
  reply?: { id: string; body: string; deletedAt: Date | null; sender: UserPublic } | null;
  participants?: UserPublic[] | null;
  /** The emoji the reader reacted with; null for a frame every member receives. */
  mine?: string[] | null;
  /** The reader blocked the sender; null for a frame every member receives. */
  senderBlocked?: boolean | null;
}

/** A message that does not exist any more for anyone who sees it quoted (its sender's account is gone). */
function goneUser(id: string | null): UserPublic {
  return { id: id ?? "00000000-0000-0000-0000-000000000000", username: "deleted", displayName: "Deleted user" };
}

export function excerptOf(body: string): string {
  const characters = [...body];
  return characters.length <= EXCERPT_CHARS ? body : `${characters.slice(0, EXCERPT_CHARS).join("")}…`;
}

function reactionsOf(stored: unknown, mine: readonly string[] | null | undefined): ReactionCount[] {
  if (!Array.isArray(stored)) return [];
  const own = new Set(mine ?? []);
  return stored.map((entry: { emoji: string; count: number }) => ({ emoji: entry.emoji, count: Number(entry.count), me: own.has(entry.emoji) }));
}

function attachmentsOf(stored: unknown): Attachment[] {
  if (!Array.isArray(stored)) return [];
  // Rebuilt key by key: the client sees the same shape whatever else the stored JSON holds.
  return stored.map((entry: Attachment) => ({
    fileId: entry.fileId,
    filename: entry.filename,
    contentType: entry.contentType,
    size: Number(entry.size),
    width: entry.width ?? null,
    height: entry.height ?? null,
    thumbnail: entry.thumbnail ? { width: entry.thumbnail.width, height: entry.thumbnail.height } : null,
  }));
}

/**
 * The one mapping from a row to a `Message`. Events, `messages.list`, `messages.thread`, search and `rooms.list`
 * all go through it, so a message has the same shape (and key order) wherever a client meets it.
 */
export function toMessage({ message, sender, reply, participants, mine, senderBlocked }: MessageRow): Message {
  const replyTo: ReplyQuote | null =
    message.replyToId === null
      ? null
      : {
          messageId: message.replyToId,
          sender: reply?.sender ?? goneUser(null),
          excerpt: reply && reply.deletedAt === null ? excerptOf(reply.body) : "",
          deleted: !reply || reply.deletedAt !== null,
        };
  return {
    id: message.id,
    roomId: message.roomId,
    seq: message.seq,
    kind: message.kind as MessageKind,
    sender: { id: sender.id, username: sender.username, displayName: sender.displayName },
    body: message.body,
    attachments: attachmentsOf(message.attachments),
    createdAt: message.createdAt.toISOString(),
    editedAt: message.editedAt?.toISOString() ?? null,
    deletedAt: message.deletedAt?.toISOString() ?? null,
    deletedBy: message.deletedBy === "sender" || message.deletedBy === "moderator" ? message.deletedBy : null,
    replyTo,
    threadRootId: message.threadRootId,
    alsoInRoom: message.alsoInRoom,
    thread:
      message.threadReplyCount > 0
        ? { replyCount: message.threadReplyCount, lastReplyAt: message.threadLastReplyAt?.toISOString() ?? null, participants: participants ?? [] }
        : null,
    mentions: message.mentions,
    mentionsRoom: message.mentionsRoom,
    reactions: reactionsOf(message.reactions, mine),
    pinned: message.pinnedAt ? { at: message.pinnedAt.toISOString(), byUserId: message.pinnedBy ?? goneUser(null).id } : null,
    hasLink: message.hasLink,
    ...(senderBlocked ? { senderBlocked: true as const } : {}),
  };
}

const replyTarget = alias(messages, "reply_target");
const replySender = alias(users, "reply_sender");

/** A thread root's repliers in the root's order; only for roots (a subquery per row that has replies). */
const participantsOf = sql<UserPublic[] | null>`case when "messages"."thread_reply_count" > 0 then (
  select coalesce(json_agg(json_build_object('id', p.id, 'username', p.username, 'displayName', p.display_name)
    order by array_position("messages"."thread_participants", p.id)), '[]'::json)
  from users p where p.id = any("messages"."thread_participants")) end`;

function mineOf(viewerId: string | null): SQL<string[] | null> {
  if (viewerId === null) return sql<null>`null::text[]`;
  return sql<string[]>`(select coalesce(array_agg(r.emoji), '{}'::text[]) from message_reactions r
    where r.message_id = "messages"."id" and r.user_id = ${viewerId})`;
}

/** Whether the viewer blocked the message's sender: one primary-key probe of user_blocks per message. */
function senderBlockedOf(viewerId: string | null): SQL<boolean | null> {
  if (viewerId === null) return sql<null>`null::boolean`;
  return sql<boolean>`exists(select 1 from user_blocks b where b.blocker_id = ${viewerId} and b.blocked_id = "messages"."sender_id")`;
}

/**
 * Messages matching `where`, built whole (sender, reply quote, thread repliers, the viewer's own reactions),
 * ordered by seq; every message read goes through here. `viewerId` null: as a frame for every member (`me` false).
 */
export async function findMessages(
  db: Db,
  query: { where: SQL | undefined; order: "asc" | "desc"; limit: number; viewerId: string | null; orderBy?: SQL[] },
): Promise<Message[]> {
  const rows = await db
    .select({
      message: messageColumns,
      sender: senderColumns,
      reply: { id: replyTarget.id, body: replyTarget.body, deletedAt: replyTarget.deletedAt },
      replySender: { id: replySender.id, username: replySender.username, displayName: replySender.displayName },
      participants: participantsOf,
      mine: mineOf(query.viewerId),
      senderBlocked: senderBlockedOf(query.viewerId),
    })
    .from(messages)
    .innerJoin(users, eq(users.id, messages.senderId))
    .leftJoin(replyTarget, eq(replyTarget.id, messages.replyToId))
    .leftJoin(replySender, eq(replySender.id, replyTarget.senderId))
    .where(query.where)
    .orderBy(...(query.orderBy ?? [query.order === "asc" ? asc(messages.seq) : desc(messages.seq)]))
    .limit(query.limit);
  return rows.map((row) =>
    toMessage({
      message: row.message,
      sender: row.sender,
      reply: row.reply && row.replySender ? { ...row.reply, sender: row.replySender } : null,
      participants: row.participants,
      mine: row.mine,
      senderBlocked: row.senderBlocked,
    }),
  );
}

/** The messages with these ids (in no particular order), built whole. */
export function findMessagesByIds(db: Db, ids: readonly string[], viewerId: string | null): Promise<Message[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return findMessages(db, { where: inArray(messages.id, [...ids]), order: "asc", limit: ids.length, viewerId });
}
