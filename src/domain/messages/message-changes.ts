import { and, eq, inArray, sql } from "drizzle-orm";
import type { BucketRule } from "../../config.ts";
import type { Database, Db } from "../../infra/db/database.ts";
import { files, messageEdits, messageMentions, messageReactions, messages, roomMembers, users } from "../../infra/db/schema.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { LoggedRoomEvent, ThreadRoot } from "../events.ts";
import { disposeFiles } from "../files/file-disposal.ts";
import type { EventDraft } from "../room-log/event-rows.ts";
import type { RoomLog } from "../room-log/room-log.ts";
import { may, requireOutranks, requirePermission } from "../rooms/permissions.ts";
import { findMemberRoom, requireVisible, roleIn } from "../rooms/room-access.ts";
import { recordAudit, type RoomAuditDraft } from "../rooms/room-audit.ts";
import { requireNotMuted } from "../rooms/room-bans.ts";
import type { MemberRole } from "../rooms/rooms.schema.ts";
import { hasLinkIn, mentionsIn } from "./mentions.ts";
import { findMessagesByIds, MAX_THREAD_PARTICIPANTS } from "./message-rows.ts";
import { EditMessageInput, type Message, MessageRef, ReactionInput } from "./messages.schema.ts";

/** Distinct emoji one message can carry: past it, a new emoji is refused (existing ones can still be added to). */
export const MAX_DISTINCT_EMOJI = 30;
/** Emoji one member can put on one message. */
export const MAX_REACTIONS_PER_USER = 10;
/** Pinned messages per room. */
export const MAX_PINS = 50;

/**
 * Changes to messages after they were sent: edit, delete, react, unreact, pin, unpin. Each is one room event: it
 * takes the room's next seq in the transaction that changes the message's projection (body, tombstone, reactions
 * aggregate, pin, thread summary), under the room's lock — the lock group commits take too — so concurrent changes
 * of one message, from any instance, commit in one order and every member sees that order. A change that changes
 * nothing (the same body, a reaction already there, a pin already set, a message already deleted) takes no seq and
 * publishes nothing: it answers the message as it is.
 *
 * Not batched like sends: changes are rarer, and each must read the message it changes under the lock.
 */
export interface MessageChanges {
  /**
   * The sender only, within MESSAGE_EDIT_WINDOW_SECONDS; the replaced body is kept (messages.edits). A muted member
   * may neither edit nor react or take a reaction back (FORBIDDEN reason MUTED); deleting their own words stays open.
   */
  edit(userId: string, input: EditMessageInput): Promise<Message>;
  /**
   * The sender, or a moderator and up acting on a lower rank (ROOM_PERMISSIONS): body, versions, reactions and
   * mentions are removed; a tombstone stays.
   */
  delete(userId: string, input: MessageRef): Promise<Message>;
  react(userId: string, input: ReactionInput): Promise<Message>;
  unreact(userId: string, input: ReactionInput): Promise<Message>;
  /** Moderators and up (ROOM_PERMISSIONS `pin`, for unpinning too). */
  pin(userId: string, input: MessageRef): Promise<Message>;
  unpin(userId: string, input: MessageRef): Promise<Message>;
}

export interface MessageChangesDeps {
  database: Database;
  log: Pick<RoomLog, "append" | "announce" | "forget">;
  rateLimiter: RateLimiter;
  clock: Clock;
  changeRate: BucketRule;
  /** 0: no limit. */
  editWindowSeconds: number;
}

/** The message being changed, as read under the room's lock. */
interface Target {
  id: string;
  roomId: string;
  seq: number;
  senderId: string;
  body: string;
  createdAt: Date;
  deletedAt: Date | null;
  editCount: number;
  threadRootId: string | null;
  pinnedAt: Date | null;
}

/** What a change did inside its transaction: the events to append (none when nothing changed). */
interface Applied {
  drafts: EventDraft[];
  /** The room's cached frames must go: they show content that was just deleted. */
  forget?: boolean;
  /** A moderator's act (pin, unpin, deleting another's message): recorded with its event's seq. */
  audit?: RoomAuditDraft;
}

/** The audit entry of a moderator's act on a message: aimed at the message and its sender, never its body. */
function auditOf(action: "message.pinned" | "message.unpinned" | "message.deleted", actorId: string, target: Target): RoomAuditDraft {
  return { action, data: null, actorId, targetUserId: target.senderId, targetMessageId: target.id };
}

export function createMessageChanges(deps: MessageChangesDeps): MessageChanges {
  const { db } = deps.database;

  async function limit(userId: string): Promise<void> {
    const decision = await deps.rateLimiter.consume(`change:${userId}`, deps.changeRate);
    if (!decision.allowed) throw new DomainError("TOO_MANY_REQUESTS", "changing messages too fast", decision.retryAfterSeconds);
  }

  /**
   * Runs one change: finds the message, locks its room (FORBIDDEN for non-members, exactly as reading it),
   * re-reads the message under the lock, applies the change and appends its events; after the commit announces
   * them, built from the message as it then is. Answers the message as the caller sees it.
   */
  async function change(userId: string, messageId: string, apply: (tx: Db, target: Target, role: MemberRole) => Promise<Applied>): Promise<Message> {
    await limit(userId);
    const committed = await db.transaction(async (tx) => {
      const [located] = await tx.select({ roomId: messages.roomId }).from(messages).where(eq(messages.id, messageId));
      if (!located) throw new DomainError("NOT_FOUND", "no such message");
      const { role, visibleFrom } = await findMemberRoom(tx, userId, located.roomId, { lock: "room" });
      const [target] = await tx
        .select({
          id: messages.id,
          roomId: messages.roomId,
          seq: messages.seq,
          senderId: messages.senderId,
          body: messages.body,
          createdAt: messages.createdAt,
          deletedAt: messages.deletedAt,
          editCount: messages.editCount,
          threadRootId: messages.threadRootId,
          pinnedAt: messages.pinnedAt,
        })
        .from(messages)
        .where(eq(messages.id, messageId));
      if (!target) throw new DomainError("NOT_FOUND", "no such message");
      requireVisible(target.seq, visibleFrom); // history before a "sinceJoin" reader's join is not theirs to change
      const applied = await apply(tx, target, role);
      const seqs = await deps.log.append(tx, target.roomId, applied.drafts);
      if (applied.audit) await recordAudit(tx, { ...applied.audit, roomId: target.roomId, seq: seqs[0] ?? null });
      return { target, applied, seqs };
    });
    const { target, applied, seqs } = committed;
    if (applied.forget) await deps.log.forget(target.roomId);
    // One read, as the caller sees it; the frame every member receives is the same minus the caller's `me`.
    const ids = target.threadRootId ? [target.id, target.threadRootId] : [target.id];
    const byId = new Map((await findMessagesByIds(db, ids, userId)).map((message) => [message.id, message]));
    const message = byId.get(target.id);
    if (!message) throw new Error(`message ${target.id} vanished after its change`);
    if (seqs.length > 0) {
      const root = target.threadRootId ? byId.get(target.threadRootId) : undefined;
      await deps.log.announce(eventsOf(target, applied.drafts, seqs, asFrame(message), root && { messageId: root.id, thread: root.thread }));
    }
    return message;
  }

  /** The committed drafts as clients receive them: built from the message (and its thread's root) as it is now. */
  function eventsOf(target: Target, drafts: readonly EventDraft[], seqs: readonly number[], message: Message, root: ThreadRoot | undefined): LoggedRoomEvent[] {
    const { roomId } = target;
    const messageId = target.id;
    return drafts.map((draft, index): LoggedRoomEvent => {
      const seq = seqs[index] as number;
      switch (draft.type) {
        case "message.edited":
          return { type: draft.type, roomId, seq, messageId, message };
        case "message.deleted":
          return root ? { type: draft.type, roomId, seq, messageId, message, root } : { type: draft.type, roomId, seq, messageId, message };
        case "reaction.added":
        case "reaction.removed":
          return { type: draft.type, roomId, seq, messageId, ...draft.data };
        case "message.pinned":
          return { type: draft.type, roomId, seq, messageId, pinned: draft.data };
        case "message.unpinned":
          return { type: draft.type, roomId, seq, messageId, byUserId: draft.data.byUserId };
        default:
          throw new Error(`not a message change: ${draft.type}`);
      }
    });
  }

  /** Member ids for the @usernames of a body, among the room's current members. */
  async function mentionedMembers(tx: Db, roomId: string, usernames: readonly string[]): Promise<string[]> {
    if (usernames.length === 0) return [];
    const rows = await tx
      .select({ id: users.id })
      .from(roomMembers)
      .innerJoin(users, eq(users.id, roomMembers.userId))
      .where(and(eq(roomMembers.roomId, roomId), inArray(users.username, [...usernames])));
    return rows.map((row) => row.id);
  }

  /**
   * Recounts the reactions aggregate from who reacted: [{emoji, count}]. Each emoji keeps its place until its count
   * reaches 0, and a new one goes last — an order every client can follow from the events alone (by first reaction
   * among those still reacting, an emoji would move when its first reactor took theirs back, which no event says).
   */
  async function recountReactions(tx: Db, messageId: string, emoji: string): Promise<number> {
    await tx.execute(sql`update messages set reactions = coalesce((
        select jsonb_agg(jsonb_build_object('emoji', counted.emoji, 'count', counted.reacted)
          order by coalesce(placed.position, 2147483647), counted.emoji)
        from (select r.emoji, count(*) as reacted from message_reactions r
              where r.message_id = ${messageId} group by r.emoji) counted
        left join jsonb_array_elements(messages.reactions) with ordinality as placed(entry, position)
          on placed.entry ->> 'emoji' = counted.emoji), '[]'::jsonb)
      where id = ${messageId}`);
    const [row] = await tx
      .select({ count: sql<number>`count(*)`.mapWith(Number) })
      .from(messageReactions)
      .where(and(eq(messageReactions.messageId, messageId), eq(messageReactions.emoji, emoji)));
    return row?.count ?? 0;
  }

  /** A thread root's summary from its replies that are still there: after a reply is deleted. */
  async function recountThread(tx: Db, rootId: string): Promise<void> {
    await tx.execute(sql`update messages root set
        thread_reply_count = (select count(*) from messages reply where reply.thread_root_id = ${rootId} and reply.deleted_at is null),
        thread_last_reply_at = (select max(reply.created_at) from messages reply where reply.thread_root_id = ${rootId} and reply.deleted_at is null),
        thread_participants = array(select reply.sender_id from messages reply
          where reply.thread_root_id = ${rootId} and reply.deleted_at is null
          group by reply.sender_id order by min(reply.seq) limit ${MAX_THREAD_PARTICIPANTS})
      where root.id = ${rootId}`);
  }

  function refuseDeleted(target: Target, action: string): void {
    if (target.deletedAt !== null) throw new DomainError("BAD_REQUEST", `a deleted message cannot be ${action}`);
  }

  return {
    async edit(userId, raw) {
      const input = parse(EditMessageInput, raw);
      return change(userId, input.messageId, async (tx, target, role) => {
        if (target.senderId !== userId) throw new DomainError("FORBIDDEN", "only its sender can edit a message");
        refuseDeleted(target, "edited");
        await requireNotMuted(tx, target.roomId, userId, deps.clock.now());
        const now = deps.clock.now();
        if (deps.editWindowSeconds > 0 && now.getTime() - target.createdAt.getTime() > deps.editWindowSeconds * 1000) {
          throw new DomainError("FORBIDDEN", `messages can be edited for ${deps.editWindowSeconds} seconds after they are sent`, { reason: "EDIT_WINDOW" });
        }
        if (input.body === target.body) return { drafts: [] };
        const asked = mentionsIn(input.body);
        const mentions = await mentionedMembers(tx, target.roomId, asked.usernames);
        await tx.insert(messageEdits).values({ messageId: target.id, version: target.editCount + 1, body: target.body, replacedAt: now });
        await tx
          .update(messages)
          .set({
            body: input.body,
            editedAt: now,
            editCount: target.editCount + 1,
            hasLink: hasLinkIn(input.body),
            mentions,
            mentionsRoom: asked.room && may(role, "mentionRoom"),
          })
          .where(eq(messages.id, target.id));
        // Mentions follow the body: someone no longer named stops counting it as an unread mention.
        await tx.delete(messageMentions).where(eq(messageMentions.messageId, target.id));
        const named = mentions.filter((id) => id !== userId);
        if (named.length > 0) {
          await tx.insert(messageMentions).values(named.map((id) => ({ messageId: target.id, userId: id, roomId: target.roomId, seq: target.seq })));
        }
        return { drafts: [{ type: "message.edited", data: null, actorId: userId, messageId: target.id }] };
      });
    },

    async delete(userId, raw) {
      const input = parse(MessageRef, raw);
      return change(userId, input.messageId, async (tx, target, role) => {
        const bySender = target.senderId === userId;
        if (!bySender) {
          requirePermission(role, "deleteOthersMessages");
          // The sender's rank now (a sender who left has none): moderators do not delete their peers' or superiors' words.
          requireOutranks(role, await roleIn(tx, target.roomId, target.senderId), "delete messages of");
        }
        if (target.deletedAt !== null) return { drafts: [] };
        // Really removed (privacy): the body, every earlier version, who reacted and whom it named.
        await tx.delete(messageEdits).where(eq(messageEdits.messageId, target.id));
        await tx.delete(messageReactions).where(eq(messageReactions.messageId, target.id));
        await tx.delete(messageMentions).where(eq(messageMentions.messageId, target.id));
        await tx
          .update(messages)
          .set({
            body: "",
            deletedAt: deps.clock.now(),
            deletedBy: bySender ? "sender" : "moderator",
            editCount: 0,
            reactions: [],
            mentions: [],
            mentionsRoom: false,
            hasLink: false,
            pinnedAt: null,
            pinnedBy: null,
            attachments: [],
          })
          .where(eq(messages.id, target.id));
        // Its files go with it: no URL from now on, their objects removed by the outbox.
        await disposeFiles(tx, eq(files.messageId, target.id), `files.deleteObjects:message:${target.id}`);
        if (target.threadRootId) await recountThread(tx, target.threadRootId);
        return {
          drafts: [{ type: "message.deleted", data: null, actorId: userId, messageId: target.id }],
          forget: true,
          ...(!bySender && { audit: auditOf("message.deleted", userId, target) }),
        };
      });
    },

    async react(userId, raw) {
      const input = parse(ReactionInput, raw);
      return change(userId, input.messageId, async (tx, target) => {
        refuseDeleted(target, "reacted to");
        await requireNotMuted(tx, target.roomId, userId, deps.clock.now());
        const [mine] = await tx
          .select({ emoji: sql<string[]>`coalesce(array_agg(${messageReactions.emoji}), '{}'::text[])` })
          .from(messageReactions)
          .where(and(eq(messageReactions.messageId, target.id), eq(messageReactions.userId, userId)));
        if (mine?.emoji.includes(input.emoji)) return { drafts: [] };
        if ((mine?.emoji.length ?? 0) >= MAX_REACTIONS_PER_USER) {
          throw new DomainError("BAD_REQUEST", `at most ${MAX_REACTIONS_PER_USER} reactions per person on one message`, { reason: "REACTION_LIMIT" });
        }
        const [distinct] = await tx
          .select({ emoji: sql<string[]>`coalesce(array_agg(distinct ${messageReactions.emoji}), '{}'::text[])` })
          .from(messageReactions)
          .where(eq(messageReactions.messageId, target.id));
        const used = distinct?.emoji ?? [];
        if (!used.includes(input.emoji) && used.length >= MAX_DISTINCT_EMOJI) {
          throw new DomainError("BAD_REQUEST", `at most ${MAX_DISTINCT_EMOJI} different emoji on one message`, { reason: "REACTION_LIMIT" });
        }
        // The database's clock, per statement: reactors are listed in the order they reacted (messages.reactors).
        await tx.insert(messageReactions).values({ messageId: target.id, userId, emoji: input.emoji, createdAt: sql`clock_timestamp()` });
        const count = await recountReactions(tx, target.id, input.emoji);
        return { drafts: [{ type: "reaction.added", data: { emoji: input.emoji, userId, count }, actorId: userId, messageId: target.id }] };
      });
    },

    async unreact(userId, raw) {
      const input = parse(ReactionInput, raw);
      return change(userId, input.messageId, async (tx, target) => {
        // Taking a reaction back is a room event every member receives, like adding one.
        await requireNotMuted(tx, target.roomId, userId, deps.clock.now());
        const removed = await tx
          .delete(messageReactions)
          .where(and(eq(messageReactions.messageId, target.id), eq(messageReactions.userId, userId), eq(messageReactions.emoji, input.emoji)))
          .returning({ emoji: messageReactions.emoji });
        if (removed.length === 0) return { drafts: [] };
        const count = await recountReactions(tx, target.id, input.emoji);
        return { drafts: [{ type: "reaction.removed", data: { emoji: input.emoji, userId, count }, actorId: userId, messageId: target.id }] };
      });
    },

    async pin(userId, raw) {
      const input = parse(MessageRef, raw);
      return change(userId, input.messageId, async (tx, target, role) => {
        requirePermission(role, "pin");
        refuseDeleted(target, "pinned");
        if (target.pinnedAt !== null) return { drafts: [] };
        const [pinned] = await tx
          .select({ count: sql<number>`count(*)`.mapWith(Number) })
          .from(messages)
          .where(and(eq(messages.roomId, target.roomId), sql`${messages.pinnedAt} is not null`));
        if ((pinned?.count ?? 0) >= MAX_PINS) {
          throw new DomainError("BAD_REQUEST", `at most ${MAX_PINS} pinned messages per room: unpin one first`, { reason: "PIN_LIMIT" });
        }
        const at = deps.clock.now();
        await tx.update(messages).set({ pinnedAt: at, pinnedBy: userId }).where(eq(messages.id, target.id));
        return {
          drafts: [{ type: "message.pinned", data: { at: at.toISOString(), byUserId: userId }, actorId: userId, messageId: target.id }],
          audit: auditOf("message.pinned", userId, target),
        };
      });
    },

    async unpin(userId, raw) {
      const input = parse(MessageRef, raw);
      return change(userId, input.messageId, async (tx, target, role) => {
        requirePermission(role, "pin");
        if (target.pinnedAt === null) return { drafts: [] };
        await tx.update(messages).set({ pinnedAt: null, pinnedBy: null }).where(eq(messages.id, target.id));
        return {
          drafts: [{ type: "message.unpinned", data: { byUserId: userId }, actorId: userId, messageId: target.id }],
          audit: auditOf("message.unpinned", userId, target),
        };
      });
    },
  };
}

/** Services validate their own input too (the socket passes frames straight through; tests call services). */
function parse<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } } }, raw: unknown): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new DomainError("BAD_REQUEST", parsed.error.issues.map((issue) => issue.message).join("; "));
  return parsed.data;
}

/** A message as one frame for every member carries it: nobody's own reactions (`me`) in it. */
function asFrame(message: Message): Message {
  return { ...message, reactions: message.reactions.map((reaction) => ({ ...reaction, me: false })) };
}
