import { asc, desc, eq, type SQL } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { messages, users } from "../../infra/db/schema.ts";
import type { UserPublic } from "../users/users.schema.ts";
import type { Message } from "./messages.schema.ts";

/** A message's own columns; read together with `senderColumns` (messages joined to users on sender_id). */
export const messageColumns = {
  id: messages.id,
  roomId: messages.roomId,
  seq: messages.seq,
  body: messages.body,
  createdAt: messages.createdAt,
};

export const senderColumns = { id: users.id, username: users.username, displayName: users.displayName };

export interface MessageRow {
  message: { id: string; roomId: string; seq: number; body: string; createdAt: Date };
  sender: UserPublic;
}

/**
 * The one mapping from a row to a `Message`. `message.created`, `messages.list`, `messages.range` and `rooms.list`
 * all go through it, so a message has the same shape (and key order) wherever a client meets it.
 */
export function toMessage({ message, sender }: MessageRow): Message {
  return {
    id: message.id,
    roomId: message.roomId,
    seq: message.seq,
    sender: { id: sender.id, username: sender.username, displayName: sender.displayName },
    body: message.body,
    createdAt: message.createdAt.toISOString(),
  };
}

/** Messages (with their senders) matching `where`, ordered by seq; every message read goes through here. */
export async function findMessages(
  db: Db,
  query: { where: SQL | undefined; order: "asc" | "desc"; limit: number },
): Promise<Message[]> {
  const rows = await db
    .select({ message: messageColumns, sender: senderColumns })
    .from(messages)
    .innerJoin(users, eq(users.id, messages.senderId))
    .where(query.where)
    .orderBy(query.order === "asc" ? asc(messages.seq) : desc(messages.seq))
    .limit(query.limit);
  return rows.map(toMessage);
}
