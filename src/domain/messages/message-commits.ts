import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import { type Db, isUniqueViolation } from "../../infra/db/database.ts";
import { messageMentions, messages, roomEvents, roomMembers, roomMutes, rooms, userBlocks, users } from "../../infra/db/schema.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { ThreadRoot } from "../events.ts";
import { may } from "../rooms/permissions.ts";
import { notAMember } from "../rooms/room-access.ts";
import type { UserPublic } from "../users/users.schema.ts";
import { attachmentsFor, findAttachable, kindOf, sameAttachments } from "./message-attachments.ts";
import { findMessages, findMessagesByIds, MAX_THREAD_PARTICIPANTS, toMessage } from "./message-rows.ts";
import type { Attachment, Message, MessageKind, SendMessageInput } from "./messages.schema.ts";
import type { MentionRequest } from "./mentions.ts";
import { gateRefusal, OPEN_SEND_POLICY, type Sender, type SendPolicy } from "./send-gate.ts";

/** A new message; for a thread reply, its root's summary after it (the event carries it). */
export type SendOutcome = { message: Message; created: true; root?: ThreadRoot } | { message: Message; created: false };

/** A validated, rate-limited send waiting for its transaction, with what its body asks for (mentions, a link). */
export interface QueuedSend {
  senderId: string;
  input: SendMessageInput;
  mentions: MentionRequest;
  hasLink: boolean;
}

/** What one send came to. "failed" rejects only that send (a DomainError, or the database's own error). */
export type SendResult = { status: "sent"; outcome: SendOutcome } | { status: "failed"; error: unknown };

const key = (a: string, b: string): string => `${a} ${b}`;

/**
 * One array parameter (`'{…}'::uuid[]`) instead of one parameter per value: a statement's text then does not
 * change with the batch's size, so each is prepared once per connection and planned cheaply, whatever the batch.
 */
function array(values: readonly (string | number)[], type: "uuid" | "text" | "bigint" | "boolean"): SQL {
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

/** A retry returns the original; the same clientMsgId for another room, body or attachments is refused. */
function replay(original: Message, input: SendMessageInput): SendResult {
  if (original.roomId !== input.roomId || original.body !== input.body || !sameAttachments(original.attachments, input.attachments)) {
    return { status: "failed", error: new DomainError("CONFLICT", "clientMsgId was already used for a different message") };
  }
  return { status: "sent", outcome: { message: original, created: false } };
}

/**
 * Commits a batch of sends in ONE transaction; every result holds only once it has committed. Sends are taken in
 * queue order, so each room's new seqs follow the queue. Throws when the transaction as a whole fails (the caller
 * then commits the sends one by one); refusals of single sends are results, not throws. `clock` says when mutes
 * expire (they were set by it); slow mode is measured on the database's clock, which stamped the messages.
 */
export function commitBatch(
  db: Db,
  sends: readonly QueuedSend[],
  issue: StatementIssue,
  clock: Clock,
  policy: SendPolicy = OPEN_SEND_POLICY,
): Promise<SendResult[]> {
  return db.transaction(async (tx) => {
    const roomIds = [...new Set(sends.map((send) => send.input.roomId))].sort();
    // Locked in id order, so two instances batching overlapping rooms queue behind each other instead of
    // deadlocking. NO KEY UPDATE is what the UPDATE below takes anyway; unlike FOR UPDATE it does not block
    // inserts that reference the room (their foreign-key checks take KEY SHARE). Leave and kick take it too.
    const locked = await tx
      .select({
        id: rooms.id,
        lastSeq: rooms.lastSeq,
        mainCount: rooms.mainCount,
        kind: rooms.kind,
        postPolicy: rooms.postPolicy,
        slowModeSeconds: rooms.slowModeSeconds,
        attachmentsAllowed: rooms.attachmentsAllowed,
      })
      .from(rooms)
      .where(sql`${rooms.id} = any(${array(roomIds, "uuid")})`)
      .orderBy(asc(rooms.id))
      .for("no key update");
    const lastSeq = new Map(locked.map((room) => [room.id, room.lastSeq]));
    const mainCount = new Map(locked.map((room) => [room.id, room.mainCount]));
    const rules = new Map(locked.map((room) => [room.id, room]));
    const now = clock.now();
    // Read only once the locks are held (not pipelined behind the lock statement: drizzle and postgres.js issue a
    // query a few microtasks after it is built, so the order of statements started together is not guaranteed):
    // a leave or kick that held a room first has committed and is seen here.
    const [members, committed] = await both(
      issue,
      () => sendersIn(tx, sends.filter((send) => lastSeq.has(send.input.roomId)), now),
      () => findCommitted(tx, sends),
    );
    const [targets, mentioned] = await both(
      issue,
      () => findTargets(tx, sends),
      () => resolveMentions(tx, sends),
    );
    const attachable = await findAttachable(tx, [...new Set(sends.flatMap((send) => send.input.attachments ?? []))]);
    const attachedNow = new Set<string>(); // files attached by sends accepted earlier in this batch

    const results: SendResult[] = new Array(sends.length);
    const accepted: {
      index: number;
      send: QueuedSend;
      seq: number;
      ordinal: number | null;
      id: string;
      sender: UserPublic;
      mentions: string[];
      mentionsRoom: boolean;
      kind: MessageKind;
      attachments: Attachment[];
    }[] = [];
    const firstAccepted = new Map<string, number>(); // (sender, clientMsgId) → index in `accepted`
    const postedNow = new Set<string>(); // (room, sender) pairs with a message accepted in this batch: slow mode
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
        const room = rules.get(send.input.roomId);
        const pair = key(send.input.roomId, send.senderId);
        const refused = (room && gateRefusal(room, sender, postedNow.has(pair), policy)) ?? refusedReference(send.input, targets);
        if (refused) {
          results[index] = { status: "failed", error: refused };
          continue;
        }
        const attachments = attachmentsFor(
          send.input.attachments ?? [],
          { senderId: send.senderId, roomId: send.input.roomId, attachmentsAllowed: room?.attachmentsAllowed ?? false },
          attachable,
          attachedNow,
        );
        if (attachments instanceof DomainError) {
          results[index] = { status: "failed", error: attachments };
          continue;
        }
        for (const attachment of attachments) attachedNow.add(attachment.fileId);
        const seq = (lastSeq.get(send.input.roomId) ?? 0) + 1;
        lastSeq.set(send.input.roomId, seq);
        // Thread-only replies are in the log but not on the main timeline: no ordinal, no unread.
        const onMain = send.input.threadRootId === undefined || send.input.alsoInRoom === true;
        const ordinal = onMain ? (mainCount.get(send.input.roomId) ?? 0) + 1 : null;
        if (ordinal !== null) mainCount.set(send.input.roomId, ordinal);
        firstAccepted.set(sendKey, accepted.length);
        postedNow.add(pair);
        const names = send.mentions.usernames.map((name) => mentioned.get(key(send.input.roomId, name))).filter((id) => id !== undefined);
        // The id is made here, not by the database, so the message and its log event go in side by side.
        accepted.push({
          index,
          send,
          seq,
          ordinal,
          id: crypto.randomUUID(),
          sender: sender.user,
          mentions: [...new Set(names)],
          // @room is a mention of everyone only from those the table allows it; from anyone else it is text.
          mentionsRoom: send.mentions.room && may(sender.role, "mentionRoom"),
          kind: kindOf(attachments),
          attachments,
        });
      }
    }
    if (accepted.length === 0) return results;

    const perRoom = new Map<string, { events: number; main: number }>();
    for (const { send, ordinal } of accepted) {
      const room = perRoom.get(send.input.roomId) ?? { events: 0, main: 0 };
      perRoom.set(send.input.roomId, { events: room.events + 1, main: room.main + (ordinal === null ? 0 : 1) });
    }
    const bumpedIds = [...perRoom.keys()];
    const counts = [...perRoom.values()].map((room) => room.events);
    const mainCounts = [...perRoom.values()].map((room) => room.main);
    const bump = (): Promise<{ id: string; lastSeq: number }[]> =>
      tx
        .update(rooms)
        .set({
          lastSeq: sql`${rooms.lastSeq} + (${array(counts, "bigint")})[array_position(${array(bumpedIds, "uuid")}, ${rooms.id})]`,
          mainCount: sql`${rooms.mainCount} + (${array(mainCounts, "bigint")})[array_position(${array(bumpedIds, "uuid")}, ${rooms.id})]`,
          updatedAt: sql`clock_timestamp()`,
        })
        .where(sql`${rooms.id} = any(${array(bumpedIds, "uuid")})`)
        .returning({ id: rooms.id, lastSeq: rooms.lastSeq });
    // drizzle fills every insertable column, in schema order, from the SELECT (the generated search column
    // aside). Rows come out of unnest in the arrays' (seq) order and clock_timestamp() is taken per row, so
    // creation times never go back along a room's seqs. Per-row arrays (mentions) travel as comma-joined text:
    // unnest would flatten an array of arrays.
    const rows = sql`select batch.id, batch.room_id, batch.seq, batch.sender_id, batch.client_msg_id, batch.body,
      clock_timestamp(), batch.main_ordinal, batch.kind, null, 0, null, null, batch.reply_to_id, batch.thread_root_id,
      batch.also_in_room, 0, null, '{}'::uuid[], coalesce(string_to_array(nullif(batch.mentions, ''), ',')::uuid[], '{}'::uuid[]),
      batch.mentions_room, '[]'::jsonb, null, null, batch.has_link, batch.attachments::jsonb from unnest(
      ${array(accepted.map(({ id }) => id), "uuid")},
      ${array(accepted.map(({ send }) => send.input.roomId), "uuid")},
      ${array(accepted.map(({ seq }) => seq), "bigint")},
      ${array(accepted.map(({ send }) => send.senderId), "uuid")},
      ${array(accepted.map(({ send }) => send.input.clientMsgId), "text")},
      ${array(accepted.map(({ send }) => send.input.body), "text")},
      ${nullable(accepted.map(({ ordinal }) => ordinal), "bigint")},
      ${nullable(accepted.map(({ send }) => send.input.replyTo ?? null), "uuid")},
      ${nullable(accepted.map(({ send }) => send.input.threadRootId ?? null), "uuid")},
      ${array(accepted.map(({ send }) => String(send.input.alsoInRoom === true)), "boolean")},
      ${array(accepted.map(({ mentions }) => mentions.join(",")), "text")},
      ${array(accepted.map(({ mentionsRoom }) => String(mentionsRoom)), "boolean")},
      ${array(accepted.map(({ send }) => String(send.hasLink)), "boolean")},
      ${array(accepted.map(({ kind }) => kind), "text")},
      ${array(accepted.map(({ attachments }) => JSON.stringify(attachments)), "text")}
    ) as batch(id, room_id, seq, sender_id, client_msg_id, body, main_ordinal, reply_to_id, thread_root_id,
      also_in_room, mentions, mentions_room, has_link, kind, attachments)`;
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
    // Deferred foreign keys aside, these need the messages in place: the mention rows, and the threads' roots.
    const mentionRows = accepted.flatMap(({ id, send, seq, mentions }) =>
      mentions.filter((userId) => userId !== send.senderId).map((userId) => ({ messageId: id, userId, roomId: send.input.roomId, seq })),
    );
    if (mentionRows.length > 0) await tx.insert(messageMentions).values(mentionRows);
    await markAttached(tx, accepted.flatMap(({ id, attachments }) => attachments.map((attachment) => ({ fileId: attachment.fileId, messageId: id }))));
    const roots = await updateThreadRoots(tx, accepted.filter(({ send }) => send.input.threadRootId !== undefined).map(({ send }) => ({ rootId: send.input.threadRootId as string, senderId: send.senderId })));
    for (const room of bumped) {
      // Invariant: nothing moves a locked room's seq, so the seqs handed out above are exactly the new ones.
      if (room.lastSeq !== lastSeq.get(room.id)) throw new Error(`room ${room.id} seq moved under its lock`);
    }
    const insertedAt = new Map(inserted.map((row) => [key(row.roomId, String(row.seq)), row]));
    const created = accepted.map(({ index, send, seq, sender, id, mentions, mentionsRoom, kind, attachments }) => {
      const row = insertedAt.get(key(send.input.roomId, String(seq)));
      if (!row) throw new Error("message insert returned fewer rows than it was given");
      const target = send.input.replyTo === undefined ? null : targets.get(send.input.replyTo);
      const message = toMessage({
        message: {
          id,
          roomId: send.input.roomId,
          seq,
          kind,
          body: send.input.body,
          createdAt: row.createdAt,
          editedAt: null,
          deletedAt: null,
          deletedBy: null,
          replyToId: send.input.replyTo ?? null,
          threadRootId: send.input.threadRootId ?? null,
          alsoInRoom: send.input.alsoInRoom === true,
          threadReplyCount: 0,
          threadLastReplyAt: null,
          mentions,
          mentionsRoom,
          reactions: [],
          pinnedAt: null,
          pinnedBy: null,
          hasLink: send.hasLink,
          attachments,
        },
        sender,
        reply: target ? { id: target.id, body: target.body, deletedAt: target.deletedAt, sender: target.sender } : null,
      });
      const root = send.input.threadRootId === undefined ? undefined : roots.get(send.input.threadRootId);
      results[index] = { status: "sent", outcome: root ? { message, created: true, root } : { message, created: true } };
      return message;
    });
    for (const { index, of } of repeats) results[index] = replay(created[of] as Message, sends[index]!.input);
    return results;
  });
}

/**
 * Which of the sends' (room, sender) pairs are memberships, with the sender's profile and role and what the send
 * gate asks (mute, block, previous message); exact pairs only, one statement. The previous message is looked up
 * only in slow-mode rooms (backwards on messages_room_sender_seq_idx), blocks only in direct rooms.
 */
async function sendersIn(tx: Db, sends: readonly QueuedSend[], now: Date): Promise<Map<string, Sender>> {
  if (sends.length === 0) return new Map();
  const pairs = [...new Map(sends.map((send) => [key(send.input.roomId, send.senderId), send])).values()];
  const roomIds = array(pairs.map((send) => send.input.roomId), "uuid");
  const senderIds = array(pairs.map((send) => send.senderId), "uuid");
  const wanted = sql`select * from unnest(${roomIds}, ${senderIds})`;
  const directPair = sql`string_to_array(${rooms.directKey}, ':')::uuid[]`;
  const rows = await tx
    .select({
      roomId: roomMembers.roomId,
      role: roomMembers.role,
      sender: { id: users.id, username: users.username, displayName: users.displayName },
      muted: sql<boolean>`exists (select 1 from ${roomMutes} where ${roomMutes.roomId} = ${roomMembers.roomId}
        and ${roomMutes.userId} = ${roomMembers.userId}
        and (${roomMutes.expiresAt} is null or ${roomMutes.expiresAt} > ${now.toISOString()}::timestamptz))`,
      blocked: sql<boolean>`(${rooms.kind} = 'direct' and exists (select 1 from ${userBlocks}
        where ${userBlocks.blockerId} = any(${directPair}) and ${userBlocks.blockedId} = any(${directPair})))`,
      sinceLastSeconds: sql<number | null>`case when ${rooms.slowModeSeconds} > 0 then (
        select extract(epoch from clock_timestamp() - ${messages.createdAt})::float8 from ${messages}
        where ${messages.roomId} = ${roomMembers.roomId} and ${messages.senderId} = ${roomMembers.userId}
        order by ${messages.seq} desc limit 1) end`.mapWith(Number),
      emailVerified: sql<boolean>`${users.emailVerifiedAt} is not null`,
    })
    .from(roomMembers)
    .innerJoin(users, eq(users.id, roomMembers.userId))
    .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
    .where(sql`(${roomMembers.roomId}, ${roomMembers.userId}) in (${wanted})`);
  return new Map(
    rows.map((row) => [
      key(row.roomId, row.sender.id),
      {
        user: row.sender,
        role: row.role,
        muted: row.muted === true,
        blocked: row.blocked === true,
        sinceLastSeconds: row.sinceLastSeconds,
        emailVerified: row.emailVerified === true,
      },
    ]),
  );
}

/** Messages already committed for the batch's (sender, clientMsgId) pairs, in one query. */
async function findCommitted(tx: Db, sends: readonly QueuedSend[]): Promise<Map<string, Message>> {
  const pairs = [...new Map(sends.map((send) => [key(send.senderId, send.input.clientMsgId), send])).values()];
  const senderIds = array(pairs.map((send) => send.senderId), "uuid");
  const clientMsgIds = array(pairs.map((send) => send.input.clientMsgId), "text");
  const wanted = sql`select * from unnest(${senderIds}, ${clientMsgIds})`;
  const rows = await tx
    .select({ id: messages.id, senderId: messages.senderId, clientMsgId: messages.clientMsgId })
    .from(messages)
    .where(sql`(${messages.senderId}, ${messages.clientMsgId}) in (${wanted})`);
  if (rows.length === 0) return new Map();
  const found = new Map((await findMessagesByIds(tx, rows.map((row) => row.id), null)).map((message) => [message.id, message]));
  return new Map(rows.flatMap((row) => {
    const message = found.get(row.id);
    return message ? [[key(row.senderId, row.clientMsgId), message] as const] : [];
  }));
}

/**
 * One send in its own transaction — the fallback when a batch failed as a whole. A unique violation means the
 * same (sender, clientMsgId) committed concurrently elsewhere: ours rolled back (seq bump included) and the
 * original is returned. Database errors other than that throw.
 */
export async function commitOne(db: Db, send: QueuedSend, clock: Clock, policy: SendPolicy = OPEN_SEND_POLICY): Promise<SendResult> {
  try {
    const [result] = await commitBatch(db, [send], "sequential", clock, policy);
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
    viewerId: null,
  });
  return message ?? null;
}

/** A message a send refers to (its reply target or thread root), as the checks and the quote need it. */
interface Target {
  id: string;
  roomId: string;
  threadRootId: string | null;
  deletedAt: Date | null;
  body: string;
  sender: UserPublic;
}

/** The messages the batch's sends reply to or thread under, in one query. */
async function findTargets(tx: Db, sends: readonly QueuedSend[]): Promise<Map<string, Target>> {
  const ids = [...new Set(sends.flatMap((send) => [send.input.replyTo, send.input.threadRootId].filter((id) => id !== undefined)))];
  if (ids.length === 0) return new Map();
  const rows = await tx
    .select({
      id: messages.id,
      roomId: messages.roomId,
      threadRootId: messages.threadRootId,
      deletedAt: messages.deletedAt,
      body: messages.body,
      sender: { id: users.id, username: users.username, displayName: users.displayName },
    })
    .from(messages)
    .innerJoin(users, eq(users.id, messages.senderId))
    .where(sql`${messages.id} = any(${array(ids, "uuid")})`);
  return new Map(rows.map((row) => [row.id, row]));
}

/**
 * Why a send's reply target or thread root is refused, if it is. A message of another room gets the same answer
 * as one that does not exist: a room's messages are not revealed to non-members.
 */
function refusedReference(input: SendMessageInput, targets: Map<string, Target>): DomainError | null {
  if (input.replyTo !== undefined) {
    const target = targets.get(input.replyTo);
    if (!target || target.roomId !== input.roomId) return new DomainError("NOT_FOUND", "replyTo: no such message in this room");
    if (target.deletedAt !== null) return new DomainError("BAD_REQUEST", "replyTo: that message was deleted");
  }
  if (input.threadRootId !== undefined) {
    const root = targets.get(input.threadRootId);
    if (!root || root.roomId !== input.roomId) return new DomainError("NOT_FOUND", "threadRootId: no such message in this room");
    if (root.threadRootId !== null) return new DomainError("BAD_REQUEST", "threadRootId: a thread reply cannot have a thread of its own");
    if (root.deletedAt !== null) return new DomainError("BAD_REQUEST", "threadRootId: that message was deleted");
  }
  return null;
}

/** Member ids for the batch's @usernames, by (room, username): only current members of the room are mentioned. */
async function resolveMentions(tx: Db, sends: readonly QueuedSend[]): Promise<Map<string, string>> {
  const pairs = [...new Set(sends.flatMap((send) => send.mentions.usernames.map((name) => key(send.input.roomId, name))))];
  if (pairs.length === 0) return new Map();
  const roomIds = array(pairs.map((pair) => pair.split(" ")[0] as string), "uuid");
  const names = array(pairs.map((pair) => pair.split(" ")[1] as string), "text");
  const rows = await tx
    .select({ roomId: roomMembers.roomId, userId: users.id, username: users.username })
    .from(roomMembers)
    .innerJoin(users, eq(users.id, roomMembers.userId))
    .where(sql`(${roomMembers.roomId}, ${users.username}) in (select * from unnest(${roomIds}, ${names}))`);
  return new Map(rows.map((row) => [key(row.roomId, row.username), row.userId]));
}

/**
 * Adds the batch's thread replies to their roots' summaries (count, last reply, first repliers), in one statement,
 * and answers each root's summary after it, with its repliers' profiles.
 */
async function updateThreadRoots(tx: Db, replies: readonly { rootId: string; senderId: string }[]): Promise<Map<string, ThreadRoot>> {
  if (replies.length === 0) return new Map();
  const perRoot = new Map<string, string[]>();
  for (const { rootId, senderId } of replies) perRoot.set(rootId, [...(perRoot.get(rootId) ?? []), senderId]);
  const rootIds = [...perRoot.keys()];
  await tx.execute(sql`update messages root set
      thread_reply_count = root.thread_reply_count + batch.replies,
      thread_last_reply_at = clock_timestamp(),
      thread_participants = array(
        select participant from unnest(root.thread_participants || string_to_array(batch.senders, ',')::uuid[])
          with ordinality as p(participant, position)
        group by participant order by min(position) limit ${MAX_THREAD_PARTICIPANTS})
    from unnest(${array(rootIds, "uuid")}, ${array(rootIds.map((id) => perRoot.get(id)?.length ?? 0), "bigint")},
      ${array(rootIds.map((id) => (perRoot.get(id) ?? []).join(",")), "text")}) as batch(id, replies, senders)
    where root.id = batch.id`);
  const updated = await findMessagesByIds(tx, rootIds, null);
  return new Map(updated.map((root) => [root.id, { messageId: root.id, thread: root.thread }]));
}

/** Ties the batch's attached files to their messages: a file is attached once (see message-attachments.ts). */
async function markAttached(tx: Db, pairs: readonly { fileId: string; messageId: string }[]): Promise<void> {
  if (pairs.length === 0) return;
  await tx.execute(sql`update files set message_id = batch.message_id
    from unnest(${array(pairs.map((pair) => pair.fileId), "uuid")}, ${array(pairs.map((pair) => pair.messageId), "uuid")})
      as batch(file_id, message_id)
    where files.id = batch.file_id`);
}

/** `array()` for a column that may be null per row. */
function nullable(values: readonly (string | number | null)[], type: "uuid" | "bigint"): SQL {
  const literal = `{${values.map((value) => (value === null ? "NULL" : typeof value === "number" ? String(value) : `"${value}"`)).join(",")}}`;
  return sql`${literal}::${sql.raw(type)}[]`;
}
