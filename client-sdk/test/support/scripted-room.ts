import type { LoggedRoomEvent, Message, MessagePage, UserPublic } from "../../../src/contract.ts";
import { messageFixture } from "../../../test/support/message-fixture.ts";
import { excerptOf } from "../../src/realtime/message-changes.ts";
import type { ThreadPage } from "../../../src/domain/messages/messages.schema.ts";

/**
 * One room's log as the contract describes it, played by script for the SDK's specs: each change takes the next
 * seq and yields its live event (the state right after it); `replay(after)` builds the events after a position from
 * the current state, as `rooms.events` and a resume do; `list` and `thread` answer as `messages.list` and
 * `messages.thread` would for a given reader (their own reactions `me`). No server: the view's specs compare what
 * a view makes of the events with what these answers say.
 */
interface Row {
  id: string;
  seq: number;
  sender: UserPublic;
  body: string;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  deletedBy: "sender" | "moderator" | null;
  replyToId: string | null;
  threadRootId: string | null;
  alsoInRoom: boolean;
  mentions: string[];
  /** Emoji in first-use order, each with who reacted. */
  reactions: Map<string, Set<string>>;
  pinned: { at: string; byUserId: string } | null;
  /** Thread roots: the replies' ids, and who replied first first. */
  replies: string[];
  participants: UserPublic[];
}

type LogEntry =
  | { seq: number; type: "message.created" | "message.edited" | "message.deleted" | "message.unpinned"; messageId: string; byUserId?: string }
  | { seq: number; type: "reaction.added" | "reaction.removed"; messageId: string; emoji: string; userId: string; count: number }
  | { seq: number; type: "message.pinned"; messageId: string; pinned: { at: string; byUserId: string } }
  | { seq: number; type: "member.joined"; user: UserPublic };

export function scriptedRoom(roomId: string = crypto.randomUUID()) {
  const rows = new Map<string, Row>();
  const log: LogEntry[] = [];
  let clock = Date.UTC(2025, 0, 1);
  const now = (): string => new Date((clock += 1000)).toISOString();
  const nextSeq = (): number => log.length + 1;
  const row = (id: string): Row => {
    const found = rows.get(id);
    if (!found) throw new Error(`no message ${id}`);
    return found;
  };

  function toMessage(stored: Row, viewer: string | null): Message {
    const target = stored.replyToId ? row(stored.replyToId) : null;
    const liveReplies = stored.replies.filter((id) => row(id).deletedAt === null);
    return messageFixture({
      id: stored.id,
      roomId,
      seq: stored.seq,
      sender: stored.sender,
      body: stored.body,
      createdAt: stored.createdAt,
      editedAt: stored.editedAt,
      deletedAt: stored.deletedAt,
      deletedBy: stored.deletedBy,
      replyTo: target && {
        messageId: target.id,
        sender: target.sender,
        excerpt: target.deletedAt ? "" : excerptOf(target.body),
        deleted: target.deletedAt !== null,
      },
      threadRootId: stored.threadRootId,
      alsoInRoom: stored.alsoInRoom,
      thread:
        liveReplies.length > 0
          ? { replyCount: liveReplies.length, lastReplyAt: row(liveReplies.at(-1)!).createdAt, participants: stored.participants }
          : null,
      mentions: stored.mentions,
      reactions: [...stored.reactions].map(([emoji, users]) => ({ emoji, count: users.size, me: viewer !== null && users.has(viewer) })),
      pinned: stored.pinned,
    });
  }

  const rootOf = (stored: Row) => (stored.threadRootId ? { messageId: stored.threadRootId, thread: toMessage(row(stored.threadRootId), null).thread } : undefined);

  /** The event for a log entry, from the state as it is now (live: right after the change; replayed: later). */
  function eventOf(entry: LogEntry): LoggedRoomEvent {
    const { seq } = entry;
    switch (entry.type) {
      case "message.created": {
        const stored = row(entry.messageId);
        const root = rootOf(stored);
        return { type: entry.type, roomId, seq, message: toMessage(stored, null), ...(root ? { root } : {}) };
      }
      case "message.edited":
        return { type: entry.type, roomId, seq, messageId: entry.messageId, message: toMessage(row(entry.messageId), null) };
      case "message.deleted": {
        const stored = row(entry.messageId);
        const root = rootOf(stored);
        return { type: entry.type, roomId, seq, messageId: entry.messageId, message: toMessage(stored, null), ...(root ? { root } : {}) };
      }
      case "reaction.added":
      case "reaction.removed":
        return { type: entry.type, roomId, seq, messageId: entry.messageId, emoji: entry.emoji, userId: entry.userId, count: entry.count };
      case "message.pinned":
        return { type: entry.type, roomId, seq, messageId: entry.messageId, pinned: entry.pinned };
      case "message.unpinned":
        return { type: entry.type, roomId, seq, messageId: entry.messageId, byUserId: entry.byUserId ?? "" };
      case "member.joined":
        return { type: entry.type, roomId, seq, member: { user: entry.user, role: "member" } };
    }
  }

  function append(entry: LogEntry): LoggedRoomEvent {
    log.push(entry);
    return eventOf(entry);
  }

  const onMain = (stored: Row): boolean => stored.threadRootId === null || stored.alsoInRoom;

  return {
    roomId,
    get lastSeq() {
      return log.length;
    },
    send(sender: UserPublic, body: string, options: { replyTo?: string; threadRootId?: string; alsoInRoom?: boolean; mentions?: string[] } = {}): LoggedRoomEvent {
      const stored: Row = {
        id: crypto.randomUUID(),
        seq: nextSeq(),
        sender,
        body,
        createdAt: now(),
        editedAt: null,
        deletedAt: null,
        deletedBy: null,
        replyToId: options.replyTo ?? null,
        threadRootId: options.threadRootId ?? null,
        alsoInRoom: options.alsoInRoom ?? false,
        mentions: options.mentions ?? [],
        reactions: new Map(),
        pinned: null,
        replies: [],
        participants: [],
      };
      rows.set(stored.id, stored);
      if (stored.threadRootId) {
        const root = row(stored.threadRootId);
        root.replies.push(stored.id);
        if (!root.participants.some((user) => user.id === sender.id) && root.participants.length < 10) root.participants.push(sender);
      }
      return append({ seq: stored.seq, type: "message.created", messageId: stored.id });
    },
    /** Mentions are resolved again from the new body: name them as they are after the edit. */
    edit(messageId: string, body: string, options: { mentions?: string[] } = {}): LoggedRoomEvent {
      Object.assign(row(messageId), { body, editedAt: now(), mentions: options.mentions ?? [] });
      return append({ seq: nextSeq(), type: "message.edited", messageId });
    },
    delete(messageId: string, by: "sender" | "moderator" = "sender"): LoggedRoomEvent {
      // A tombstone: its body, reactions and mentions are gone.
      Object.assign(row(messageId), { body: "", deletedAt: now(), deletedBy: by, reactions: new Map(), mentions: [], pinned: null });
      return append({ seq: nextSeq(), type: "message.deleted", messageId });
    },
    react(messageId: string, user: UserPublic, emoji: string): LoggedRoomEvent {
      const reactions = row(messageId).reactions;
      const users = reactions.get(emoji) ?? new Set<string>();
      reactions.set(emoji, users.add(user.id));
      return append({ seq: nextSeq(), type: "reaction.added", messageId, emoji, userId: user.id, count: users.size });
    },
    unreact(messageId: string, user: UserPublic, emoji: string): LoggedRoomEvent {
      const reactions = row(messageId).reactions;
      const users = reactions.get(emoji) ?? new Set<string>();
      users.delete(user.id);
      if (users.size === 0) reactions.delete(emoji);
      return append({ seq: nextSeq(), type: "reaction.removed", messageId, emoji, userId: user.id, count: users.size });
    },
    pin(messageId: string, by: UserPublic): LoggedRoomEvent {
      const pinned = { at: now(), byUserId: by.id };
      row(messageId).pinned = pinned;
      return append({ seq: nextSeq(), type: "message.pinned", messageId, pinned });
    },
    unpin(messageId: string, by: UserPublic): LoggedRoomEvent {
      row(messageId).pinned = null;
      return append({ seq: nextSeq(), type: "message.unpinned", messageId, byUserId: by.id });
    },
    join(user: UserPublic): LoggedRoomEvent {
      return append({ seq: nextSeq(), type: "member.joined", user });
    },
    /** The events after `after`, each built from the current state (rooms.events, a resume's replay). */
    replay(after = 0): LoggedRoomEvent[] {
      return log.filter((entry) => entry.seq > after).map(eventOf);
    },
    /** messages.list for `viewer`: the main timeline, newest page or the one `before` a seq. */
    list(viewer: UserPublic, input: { before?: number; limit?: number } = {}): MessagePage {
      const limit = input.limit ?? 50;
      const main = [...rows.values()].filter((stored) => onMain(stored) && (input.before === undefined || stored.seq < input.before)).sort((a, b) => a.seq - b.seq);
      const page = main.slice(-limit);
      const newer = input.before !== undefined && [...rows.values()].some((stored) => onMain(stored) && stored.seq >= input.before!);
      return { messages: page.map((stored) => toMessage(stored, viewer.id)), hasOlder: main.length > limit, hasNewer: newer, lastSeq: log.length };
    },
    /** messages.thread for `viewer`: the root and every reply, ascending. */
    thread(viewer: UserPublic, rootId: string): ThreadPage {
      const root = row(rootId);
      return { root: toMessage(root, viewer.id), replies: root.replies.map((id) => toMessage(row(id), viewer.id)), nextCursor: null };
    },
  };
}

export type ScriptedRoom = ReturnType<typeof scriptedRoom>;

/**
 * A deterministic mix of every change — messages, replies, thread replies (some also in the room), edits of any
 * length, deletions, reactions and their removal (mine among them), pins, joins — by the reader and two others.
 * `pages[k]` is what messages.list answered the reader after the k-th event (`list` input for every page).
 */
export function randomScript(options: {
  seed: number;
  steps: number;
  reader: UserPublic;
  list?: { before?: number; limit?: number };
  /** Called before the first event and after each: to read the room as it is then. */
  observe?: (room: ScriptedRoom) => void;
}) {
  const random = mulberry32(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const room = scriptedRoom();
  const people: UserPublic[] = [options.reader, { id: crypto.randomUUID(), username: "ann", displayName: "Ann" }, { id: crypto.randomUUID(), username: "bob", displayName: "Bob" }];
  const ids: string[] = [];
  const roots: string[] = [];
  const live: LoggedRoomEvent[] = [];
  const pages: MessagePage[] = [room.list(options.reader, options.list)];
  options.observe?.(room);
  const alive = (): string[] => ids.filter((id) => room.thread(options.reader, id).root.deletedAt === null);
  for (let step = 0; step < options.steps; step += 1) {
    const roll = random();
    const target = alive().length > 0 ? pick(alive()) : null;
    let event: LoggedRoomEvent;
    if (target === null || roll < 0.25) event = room.send(pick(people), `message ${step}`, target && random() < 0.5 ? { replyTo: target } : {});
    else if (roll < 0.35 && roots.length > 0) event = room.send(pick(people), `reply ${step}`, { threadRootId: pick(roots), alsoInRoom: random() < 0.3 });
    else if (roll < 0.45) event = room.edit(target, `edited ${step} ${"x".repeat(Math.floor(random() * 200))}`);
    else if (roll < 0.5) event = room.delete(target, pick(["sender", "moderator"] as const));
    else if (roll < 0.75) event = room.react(target, pick(people), pick(["👍", "❤️", "🎉"]));
    else if (roll < 0.88) {
      const message = room.thread(options.reader, target).root;
      const reaction = message.reactions.length > 0 ? pick(message.reactions) : null;
      event = reaction ? room.unreact(target, pick(people), reaction.emoji) : room.react(target, options.reader, "👀");
    } else if (roll < 0.94) event = random() < 0.6 ? room.pin(target, people[1]!) : room.unpin(target, people[1]!);
    else event = room.join({ id: crypto.randomUUID(), username: `guest${step}`, displayName: "Guest" });
    if (event.type === "message.created") {
      ids.push(event.message.id);
      if (event.message.threadRootId === null && random() < 0.4) roots.push(event.message.id);
    }
    live.push(event);
    pages.push(room.list(options.reader, options.list));
    options.observe?.(room);
  }
  return { room, live, pages, roots };
}

/** A small seeded PRNG, so that a failing script can be run again. */
function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
