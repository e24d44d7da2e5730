import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { type Db, isUniqueViolation } from "../../infra/db/database.ts";
import { messages, roomMembers, rooms, users } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { notAMember } from "../rooms/room-access.ts";
import type { UserPublic } from "../users/users.schema.ts";
import { findMessages, messageColumns, senderColumns, toMessage } from "./message-rows.ts";
import type { Message, SendMessageInput } from "./messages.schema.ts";

export type SendOutcome = { message: Message; created: true } | { message: Message; created: false };

/** A validated, rate-limited send waiting for its transaction. */
export interface QueuedSend {
  senderId: string;
  input: SendMessageInput;
}

/** What one send came to. "failed" rejects only that send (a DomainError, or the database's own error). */
export type SendResult = { status: "sent"; outcome: SendOutcome } | { status: "failed"; error: unknown };

const key = (a: string, b: string): string => `${a} ${b}`;

/** A retry returns the original; the same clientMsgId for another room or body is refused. */
function replay(original: Message, input: SendMessageInput): SendResult {
  if (original.roomId !== input.roomId || original.body !== input.body) {
    return { status: "failed", error: new DomainError("CONFLICT", "clientMsgId was already used for a different message") };
  }
  return { status: "sent", outcome: { message: original, created: false } };
}

/**
 * Commits a batch of sends in ONE transaction; every result holds only once it has committed. Sends are taken in
 * queue order, so each room's new seqs follow the queue. Throws when the transaction as a whole fails (the caller
 * then commits the sends one by one); refusals of single sends are results, not throws.
 */
export function commitBatch(db: Db, sends: readonly QueuedSend[]): Promise<SendResult[]> {
  return db.transaction(async (tx) => {
    const roomIds = [...new Set(sends.map((send) => send.input.roomId))].sort();
    // Locked in id order, so two instances batching overlapping rooms queue behind each other instead of
    // deadlocking. NO KEY UPDATE is what the UPDATE below takes anyway; unlike FOR UPDATE it does not block
    // inserts that reference the room (their foreign-key checks take KEY SHARE). Leave and kick take it too.
    const locked = await tx
      .select({ id: rooms.id, lastSeq: rooms.lastSeq })
      .from(rooms)
      .where(inArray(rooms.id, roomIds))
      .orderBy(asc(rooms.id))
      .for("no key update");
    const lastSeq = new Map(locked.map((room) => [room.id, room.lastSeq]));
    // Read under the locks: a leave or kick that held a room first has committed and is seen here.
    const members = await sendersIn(tx, [...lastSeq.keys()], sends);
    const committed = await findCommitted(tx, sends);

    const results: SendResult[] = new Array(sends.length);
    const accepted: { index: number; send: QueuedSend; seq: number; sender: UserPublic }[] = [];
    const firstAccepted = new Map<string, number>(); // (sender, clientMsgId) → index in `accepted`
    const repeats: { index: number; of: number }[] = [];
    for (const [index, send] of sends.entries()) {
      const sendKey = key(send.senderId, send.input.clientMsgId);
      // Same order of checks as one send at a time: a retry of a committed message is answered before membership.
      const original = committed.get(sendKey);
      const earlier = firstAccepted.get(sendKey);
      const sender = members.get(key(send.input.roomId, send.senderId));
      if (original) {
        results[index] = replay(original, send.input);
      } else if (earlier !== undefined) {
        repeats.push({ index, of: earlier });
      } else if (!sender) {
        results[index] = { status: "failed", error: notAMember() };
      } else {
        const seq = (lastSeq.get(send.input.roomId) ?? 0) + 1;
        lastSeq.set(send.input.roomId, seq);
        firstAccepted.set(sendKey, accepted.length);
        accepted.push({ index, send, seq, sender });
      }
    }
    if (accepted.length === 0) return results;

    const perRoom = new Map<string, number>();
    for (const { send } of accepted) perRoom.set(send.input.roomId, (perRoom.get(send.input.roomId) ?? 0) + 1);
    const bumps = sql.join([...perRoom].map(([roomId, count]) => sql`when ${roomId}::uuid then ${count}::bigint`), sql` `);
    const bumped = await tx
      .update(rooms)
      .set({ lastSeq: sql`${rooms.lastSeq} + (case ${rooms.id} ${bumps} end)`, updatedAt: sql`clock_timestamp()` })
      .where(inArray(rooms.id, [...perRoom.keys()]))
      .returning({ id: rooms.id, lastSeq: rooms.lastSeq });
    for (const room of bumped) {
      // Invariant: nothing moves a locked room's seq, so the seqs handed out above are exactly the new ones.
      if (room.lastSeq !== lastSeq.get(room.id)) throw new Error(`room ${room.id} seq moved under its lock`);
    }
    const inserted = await tx
      .insert(messages)
      .values(
        accepted.map(({ send, seq }) => ({
          roomId: send.input.roomId,
          seq,
          senderId: send.senderId,
          clientMsgId: send.input.clientMsgId,
          body: send.input.body,
          createdAt: sql`clock_timestamp()`, // per row, in seq order: creation times never go back along a room's seqs
        })),
      )
      .returning({ id: messages.id, roomId: messages.roomId, seq: messages.seq, createdAt: messages.createdAt });
    const rows = new Map(inserted.map((row) => [key(row.roomId, String(row.seq)), row]));
    const created = accepted.map(({ index, send, seq, sender }) => {
      const row = rows.get(key(send.input.roomId, String(seq)));
      if (!row) throw new Error("message insert returned fewer rows than it was given");
      const message = toMessage({ message: { ...row, body: send.input.body }, sender });
      results[index] = { status: "sent", outcome: { message, created: true } };
      return message;
    });
    for (const { index, of } of repeats) results[index] = replay(created[of] as Message, sends[index]!.input);
    return results;
  });
}

/** The batch's senders that are members of the (locked, existing) rooms they send to, by (room, sender). */
async function sendersIn(tx: Db, roomIds: string[], sends: readonly QueuedSend[]): Promise<Map<string, UserPublic>> {
  if (roomIds.length === 0) return new Map();
  const senderIds = [...new Set(sends.map((send) => send.senderId))];
  const rows = await tx
    .select({ roomId: roomMembers.roomId, sender: senderColumns })
    .from(roomMembers)
    .innerJoin(users, eq(users.id, roomMembers.userId))
    .where(and(inArray(roomMembers.roomId, roomIds), inArray(roomMembers.userId, senderIds)));
  return new Map(rows.map((row) => [key(row.roomId, row.sender.id), row.sender]));
}

/** Messages already committed for the batch's (sender, clientMsgId) pairs, in one query. */
async function findCommitted(tx: Db, sends: readonly QueuedSend[]): Promise<Map<string, Message>> {
  const pairs = new Map(sends.map((send) => [key(send.senderId, send.input.clientMsgId), send]));
  const wanted = sql.join(
    [...pairs.values()].map((send) => sql`(${send.senderId}::uuid, ${send.input.clientMsgId})`),
    sql`, `,
  );
  const rows = await tx
    .select({ clientMsgId: messages.clientMsgId, message: messageColumns, sender: senderColumns })
    .from(messages)
    .innerJoin(users, eq(users.id, messages.senderId))
    .where(sql`(${messages.senderId}, ${messages.clientMsgId}) in (${wanted})`);
  return new Map(rows.map((row) => [key(row.sender.id, row.clientMsgId), toMessage(row)]));
}

/**
 * One send in its own transaction — the fallback when a batch failed as a whole. A unique violation means the
 * same (sender, clientMsgId) committed concurrently elsewhere: ours rolled back (seq bump included) and the
 * original is returned. Database errors other than that throw.
 */
export async function commitOne(db: Db, send: QueuedSend): Promise<SendResult> {
  try {
    const [result] = await commitBatch(db, [send]);
    if (!result) throw new Error("a batch of one returned no result");
    return result;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const winner = await findSent(db, send);
    if (!winner) throw error;
    return replay(winner, send.input);
  }
}

async function findSent(db: Db, send: QueuedSend): Promise<Message | null> {
  const [message] = await findMessages(db, {
    where: and(eq(messages.senderId, send.senderId), eq(messages.clientMsgId, send.input.clientMsgId)),
    order: "asc",
    limit: 1,
  });
  return message ?? null;
}
