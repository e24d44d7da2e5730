import type { LoggedRoomEvent, Message } from "../../../src/contract.ts";
import type { ReplyQuote, ThreadSummary } from "../../../src/domain/messages/messages.schema.ts";
/** The logged events about a message; every other one is about the room or its people (a RoomActivity). */
export type MessageEvent = Extract<LoggedRoomEvent, { messageId: string } | { message: Message }>;

/**
 * What one logged event does to a copy of a message held on the client — in a room view, a cached page, a room's
 * last message: the message the event is about, a reply quoting it, the root of its thread. Every change sets
 * values (a body, a count, a pin), never adds to them, so applying an event twice, or again after a page that
 * already reflects it, changes nothing; applying a room's events in seq order ends at the room as it is.
 *
 * A function that returns the message itself when the event does not touch it, so callers tell a change by
 * identity; null for events that touch no message. `me` is the signed-in user: pushed events say `me: false` for
 * every reaction (one frame goes to every member), so `me` is kept from the copy, and set by my own reaction events.
 */
export function messageChangeOf(event: LoggedRoomEvent, me: string | null): ((message: Message) => Message) | null {
  if (!isAboutMessages(event)) return null;
  switch (event.type) {
    case "message.created":
    case "message.edited":
    case "message.deleted": {
      const next = event.message;
      const root = event.type === "message.edited" ? undefined : event.root;
      return (message) => {
        let changed = message.id === next.id ? keepingMine(next, message) : message;
        if (event.type !== "message.created" && changed.replyTo?.messageId === next.id) changed = withQuote(changed, quoteOf(next));
        if (root && changed.id === root.messageId) changed = withThread(changed, root.thread);
        return changed;
      };
    }
    case "reaction.added":
    case "reaction.removed": {
      const mine = me === null || event.userId !== me ? undefined : event.type === "reaction.added";
      return (message) => (message.id === event.messageId ? withReaction(message, event.emoji, event.count, mine) : message);
    }
    case "message.pinned":
      return (message) => (message.id === event.messageId ? withPin(message, event.pinned) : message);
    case "message.unpinned":
      return (message) => (message.id === event.messageId ? withPin(message, null) : message);
  }
}

/** The events that change messages; the others (joins, leaves, renames) only move the room's position. */
export function isAboutMessages(event: LoggedRoomEvent): event is MessageEvent {
  return "messageId" in event || "message" in event;
}

/** Thread-only replies are read through `messages.thread`, never on the main timeline. */
export function onMainTimeline(message: Message): boolean {
  return message.threadRootId === null || message.alsoInRoom;
}

/** How much of a replied-to message a quote holds: the server's EXCERPT_CHARS (src/domain/messages/message-rows.ts). */
const EXCERPT_CHARS = 140;

/** A quote's excerpt of a body, cut as the server cuts it (code points, "…" when cut); the SDK's tests compare the two. */
export function excerptOf(body: string): string {
  const characters = [...body];
  return characters.length <= EXCERPT_CHARS ? body : `${characters.slice(0, EXCERPT_CHARS).join("")}…`;
}

/** A quote of `target` as it is now: its edits show, and its deletion empties it. */
export function quoteOf(target: Message): ReplyQuote {
  const deleted = target.deletedAt !== null;
  return { messageId: target.id, sender: target.sender, excerpt: deleted ? "" : excerptOf(target.body), deleted };
}

/** `next` (a message as an event brings it, every `me` false) with `me` as `current` knew it, emoji by emoji. */
export function keepingMine(next: Message, current: Message): Message {
  if (!current.reactions.some((reaction) => reaction.me)) return next;
  const mine = new Set(current.reactions.flatMap((reaction) => (reaction.me ? [reaction.emoji] : [])));
  return { ...next, reactions: next.reactions.map((reaction) => (mine.has(reaction.emoji) ? { ...reaction, me: true } : reaction)) };
}

/**
 * One emoji's count after a reaction came or went (0: the entry goes). A new emoji goes last, as the server orders
 * them (first used first). `mine`: whether I am now among them, when the event was mine; otherwise as it was.
 */
function withReaction(message: Message, emoji: string, count: number, mine: boolean | undefined): Message {
  const index = message.reactions.findIndex((reaction) => reaction.emoji === emoji);
  const current = message.reactions[index];
  if (count <= 0) return current ? { ...message, reactions: message.reactions.filter((_, at) => at !== index) } : message;
  const me = mine ?? current?.me ?? false;
  if (current && current.count === count && current.me === me) return message;
  const entry = { emoji, count, me };
  const reactions = current ? message.reactions.map((reaction, at) => (at === index ? entry : reaction)) : [...message.reactions, entry];
  return { ...message, reactions };
}

function withPin(message: Message, pinned: Message["pinned"]): Message {
  if (message.pinned?.at === pinned?.at && message.pinned?.byUserId === pinned?.byUserId) return message;
  return { ...message, pinned };
}

function withQuote(message: Message, quote: ReplyQuote): Message {
  const current = message.replyTo;
  const same =
    current?.excerpt === quote.excerpt &&
    current.deleted === quote.deleted &&
    current.sender.id === quote.sender.id &&
    current.sender.username === quote.sender.username &&
    current.sender.displayName === quote.sender.displayName;
  return same ? message : { ...message, replyTo: quote };
}

function withThread(message: Message, thread: ThreadSummary | null): Message {
  return { ...message, thread };
}
