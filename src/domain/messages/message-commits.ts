import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import { type Db, isUniqueViolation } from "../../infra/db/database.ts";
import { messages, roomEvents, roomMembers, rooms, users } from "../../infra/db/schema.ts";
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

/**
 * One array parameter (`'{…}'::uuid[]`) instead of one parameter per value: a statement's text then does not
 * change with the batch's size, so each is prepared once per connection and planned cheaply, whatever the batch.
 */
function array(values: readonly (string | number)[], type: "uuid" | "text" | "bigint"): SQL {
  const literal = `{${values.map((value) => (typeof value === "number" ? String(value) : `"${value.replace(/["\\]/g, "\\$&")}"`)).join(",")}}`;
  return sql`${literal}::${sql.raw(type)}[]`;
}

/**
 * How a transaction's independent statements reach the database: "pipelined" sends them together (postgres.js
 * pipelines on the connection, saving round trips); "sequential" waits for each (PGlite: one connection, whose
 * protocol exchanges must not interleave).
 */
export type StatementIssue = "pipelined" | "sequential";

function both<A, B>(issue: StatementIssue, first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
  if (issue === "pipelined") return Promise.all([first(), second()]);
  return first().then(async (a) => [a, await second()]);
}

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
export function commitBatch(db: Db, sends: readonly QueuedSend[], issue: StatementIssue): Promise<SendResult[]> {
  return db.transaction(async (tx) => {
    const roomIds = [...new Set(sends.map((send) => send.input.roomId))].sort();
    // Locked in id order, so two instances batching overlapping rooms queue behind each other instead of
    // deadlocking. NO KEY UPDATE is what the UPDATE below takes anyway; unlike FOR UPDATE it does not block
    // inserts that reference the room (their foreign-key checks take KEY SHARE). Leave and kick take it too.
    const locked = await tx
      .select({ id: rooms.id, lastSeq: rooms.lastSeq, mainCount: rooms.mainCount })
      .from(rooms)
      .where(sql`${rooms.id} = any(${array(roomIds, "uuid")})`)
      .orderBy(asc(rooms.id))
      .for("no key update");
    const lastSeq = new Map(locked.map((room) => [room.id, room.lastSeq]));
    const mainCount = new Map(locked.map((room) => [room.id, room.mainCount]));
    // Read only once the locks are held (not pipelined behind the lock statement: drizzle and postgres.js issue a
    // query a few microtasks after it is built, so the order of statements started together is not guaranteed):
    // a leave or kick that held a room first has committed and is seen here.
    const [members, committed] = await both(
      issue,
      () => sendersIn(tx, sends.filter((send) => lastSeq.has(send.input.roomId))),
      () => findCommitted(tx, sends),
    );

    const results: SendResult[] = new Array(sends.length);
    const accepted: { index: number; send: QueuedSend; seq: number; ordinal: number; id: string; sender: UserPublic }[] = [];
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
        const ordinal = (mainCount.get(send.input.roomId) ?? 0) + 1;
        lastSeq.set(send.input.roomId, seq);
        mainCount.set(send.input.roomId, ordinal);
        firstAccepted.set(sendKey, accepted.length);
        // The id is made here, not by the database, so the message and its log event go in side by side.
        accepted.push({ index, send, seq, ordinal, id: crypto.randomUUID(), sender });
      }
    }
    if (accepted.length === 0) return results;

    const perRoom = new Map<string, number>();
    for (const { send } of accepted) perRoom.set(send.input.roomId, (perRoom.get(send.input.roomId) ?? 0) + 1);
    const [bumpedIds, counts] = [[...perRoom.keys()], [...perRoom.values()]];
    const bump = (): Promise<{ id: string; lastSeq: number }[]> =>
      tx
        .update(rooms)
        .set({
          lastSeq: sql`${rooms.lastSeq} + (${array(counts, "bigint")})[array_position(${array(bumpedIds, "uuid")}, ${rooms.id})]`,
          mainCount: sql`${rooms.mainCount} + (${array(counts, "bigint")})[array_position(${array(bumpedIds, "uuid")}, ${rooms.id})]`,
          updatedAt: sql`clock_timestamp()`,
        })
        .where(sql`${rooms.id} = any(${array(bumpedIds, "uuid")})`)
        .returning({ id: rooms.id, lastSeq: rooms.lastSeq });
    // drizzle fills every insertable column, in schema order, from the SELECT: id, room_id, seq, sender_id,
    // client_msg_id, body, created_at, main_ordinal. Rows come out of unnest in the arrays' (seq) order and
    // clock_timestamp() is taken per row, so creation times never go back along a room's seqs.
    const rows = sql`select batch.id, batch.room_id, batch.seq, batch.sender_id, batch.client_msg_id, batch.body,
      clock_timestamp(), batch.main_ordinal from unnest(
      ${array(accepted.map(({ id }) => id), "uuid")},
      ${array(accepted.map(({ send }) => send.input.roomId), "uuid")},
      ${array(accepted.map(({ seq }) => seq), "bigint")},
      ${array(accepted.map(({ send }) => send.senderId), "uuid")},
      ${array(accepted.map(({ send }) => send.input.clientMsgId), "text")},
      ${array(accepted.map(({ send }) => send.input.body), "text")},
      ${array(accepted.map(({ ordinal }) => ordinal), "bigint")}
    ) as batch(id, room_id, seq, sender_id, client_msg_id, body, main_ordinal)`;
    // The log: one message.created per message, the same seq. Its foreign key to messages is checked at commit
    // (deferred), so the three statements may reach the database in any order.
    const logged = sql`select room_id, seq, 'message.created', sender_id, id, null::jsonb, clock_timestamp() from unnest(
      ${array(accepted.map(({ send }) => send.input.roomId), "uuid")},
      ${array(accepted.map(({ seq }) => seq), "bigint")},
      ${array(accepted.map(({ send }) => send.senderId), "uuid")},
      ${array(accepted.map(({ id }) => id), "uuid")}
    ) as logged(room_id, seq, sender_id, id)`;
    const log = (): Promise<unknown> => tx.insert(roomEvents).select(logged);
    const insert = (): Promise<{ id: string; roomId: string; seq: number; createdAt: Date }[]> =>
      tx
        .insert(messages)
        .select(rows)
        .returning({ id: messages.id, roomId: messages.roomId, seq: messages.seq, createdAt: messages.createdAt });
    const [[bumped, inserted]] = await both(issue, () => both(issue, bump, insert), log);
    for (const room of bumped) {
      // Invariant: nothing moves a locked room's seq, so the seqs handed out above are exactly the new ones.
      if (room.lastSeq !== lastSeq.get(room.id)) throw new Error(`room ${room.id} seq moved under its lock`);
    }
    const insertedAt = new Map(inserted.map((row) => [key(row.roomId, String(row.seq)), row]));
    const created = accepted.map(({ index, send, seq, sender }) => {
      const row = insertedAt.get(key(send.input.roomId, String(seq)));
      if (!row) throw new Error("message insert returned fewer rows than it was given");
      const message = toMessage({ message: { ...row, body: send.input.body }, sender });
      results[index] = { status: "sent", outcome: { message, created: true } };
      return message;
    });
    for (const { index, of } of repeats) results[index] = replay(created[of] as Message, sends[index]!.input);
    return results;
  });
}

/** Which of the sends' (room, sender) pairs are memberships, with the sender's public profile; exact pairs only. */
async function sendersIn(tx: Db, sends: readonly QueuedSend[]): Promise<Map<string, UserPublic>> {
  if (sends.length === 0) return new Map();
  const pairs = [...new Map(sends.map((send) => [key(send.input.roomId, send.senderId), send])).values()];
  const roomIds = array(pairs.map((send) => send.input.roomId), "uuid");
  const senderIds = array(pairs.map((send) => send.senderId), "uuid");
  const wanted = sql`select * from unnest(${roomIds}, ${senderIds})`;
  const rows = await tx
    .select({ roomId: roomMembers.roomId, sender: senderColumns })
    .from(roomMembers)
    .innerJoin(users, eq(users.id, roomMembers.userId))
    .where(sql`(${roomMembers.roomId}, ${roomMembers.userId}) in (${wanted})`);
  return new Map(rows.map((row) => [key(row.roomId, row.sender.id), row.sender]));
}

/** Messages already committed for the batch's (sender, clientMsgId) pairs, in one query. */
async function findCommitted(tx: Db, sends: readonly QueuedSend[]): Promise<Map<string, Message>> {
  const pairs = [...new Map(sends.map((send) => [key(send.senderId, send.input.clientMsgId), send])).values()];
  const senderIds = array(pairs.map((send) => send.senderId), "uuid");
  const clientMsgIds = array(pairs.map((send) => send.input.clientMsgId), "text");
  const wanted = sql`select * from unnest(${senderIds}, ${clientMsgIds})`;
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
    const [result] = await commitBatch(db, [send], "sequential");
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
