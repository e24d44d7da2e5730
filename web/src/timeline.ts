import type { LoggedRoomEvent, Message, MessagePage, MyRoom } from "@parley/client";
import { groupName } from "@parley/client";

/**
 * The room's main timeline from the pages on screen: the newest page (`messages.list {roomId}`, which the cache
 * bridge extends live) and the older pages loaded by scrolling up (`before: seq`). Pages may overlap where a message
 * arrived between two reads: each seq is kept once, the newest page's copy winning (it is the one kept live).
 */
export function mergePages(newest: MessagePage | undefined, older: readonly (MessagePage | undefined)[]): Message[] {
  const bySeq = new Map<number, Message>();
  for (const page of [...older, newest]) for (const message of page?.messages ?? []) bySeq.set(message.seq, message);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** The `before` cursor for the next older page: the oldest seq shown, or null when the oldest page says there is none. */
export function nextOlderCursor(newest: MessagePage | undefined, older: readonly (MessagePage | undefined)[]): number | null {
  const oldestPage = older.length ? older.at(-1) : newest;
  if (!oldestPage || !oldestPage.hasOlder) return null;
  return oldestPage.messages[0]?.seq ?? null;
}

/** The `after` cursor for the next newer page (after a jump): the newest seq shown, or null once a page reaches the live end. */
export function nextNewerCursor(base: MessagePage | undefined, newer: readonly (MessagePage | undefined)[]): number | null {
  const newestPage = newer.length ? newer.at(-1) : base;
  if (!newestPage || !newestPage.hasNewer) return null;
  return newestPage.messages.at(-1)?.seq ?? null;
}

/** A line in the timeline about the room rather than a message: a join, a leave, a kick, a ban, a setting. */
export interface SystemLine {
  seq: number;
  text: string;
}

export type TimelineItem =
  | { kind: "date"; key: string; label: string }
  | { kind: "message"; key: string; message: Message }
  | { kind: "system"; key: string; line: SystemLine };

/** The room-log events shown as system lines; the others (messages, reactions, pins) show on the messages themselves. */
const SYSTEM_EVENTS = new Set<LoggedRoomEvent["type"]>(["member.joined", "member.left", "member.role", "member.muted", "member.unmuted", "room.updated"]);

/**
 * What a system event says, in words, or null for events that are not system lines. `nameOf` names a user by id
 * (members, senders, earlier joins); the event's own profile wins for a join.
 */
export function systemLineOf(event: LoggedRoomEvent, nameOf: (userId: string) => string): SystemLine | null {
  if (!SYSTEM_EVENTS.has(event.type)) return null;
  const text = ((): string => {
    switch (event.type) {
      case "member.joined":
        return `${event.member.user.displayName || event.member.user.username} joined`;
      case "member.left":
        return event.reason === "banned" ? `${nameOf(event.userId)} was banned` : event.reason === "removed" ? `${nameOf(event.userId)} was removed` : `${nameOf(event.userId)} left`;
      case "member.role":
        return `${nameOf(event.userId)} is now ${event.role === "member" ? "a member" : `${event.role === "admin" || event.role === "owner" ? "an" : "a"} ${event.role}`}`;
      case "member.muted":
        return `${nameOf(event.userId)} was muted by ${nameOf(event.byUserId)}`;
      case "member.unmuted":
        return `${nameOf(event.userId)} was unmuted by ${nameOf(event.byUserId)}`;
      case "room.updated":
        return `Room settings changed${event.room.name ? ` (name: ${event.room.name})` : ""}`;
      default:
        return "";
    }
  })();
  return { seq: event.seq, text };
}

/**
 * The system lines that belong between the messages shown: those after the first message (from the room's
 * beginning when no older page is left), and before the last one while newer messages are still to load.
 */
export function linesInView(lines: readonly SystemLine[], messages: readonly Message[], edges: { hasOlder: boolean; hasNewer: boolean }): SystemLine[] {
  const from = edges.hasOlder ? (messages[0]?.seq ?? Infinity) : 0;
  const to = edges.hasNewer ? (messages.at(-1)?.seq ?? -Infinity) : Infinity;
  return lines.filter((line) => line.seq > from && line.seq < to);
}

/**
 * Messages and system lines in seq order, with a date line before the first message of each calendar day (in the
 * viewer's time zone). System events carry no time: they never start a day of their own.
 */
export function withDateSeparators(messages: readonly Message[], locale?: string, lines: readonly SystemLine[] = []): TimelineItem[] {
  const items: TimelineItem[] = [];
  let lastDay = "";
  const system = [...lines].sort((a, b) => a.seq - b.seq);
  let next = 0;
  for (const message of messages) {
    while (next < system.length && (system[next]?.seq ?? Infinity) < message.seq) {
      const line = system[next++] as SystemLine;
      items.push({ kind: "system", key: `event-${line.seq}`, line });
    }
    const at = new Date(message.createdAt);
    const day = `${at.getFullYear()}-${at.getMonth()}-${at.getDate()}`;
    if (day !== lastDay) {
      items.push({ kind: "date", key: `date-${day}`, label: at.toLocaleDateString(locale, { weekday: "long", year: "numeric", month: "long", day: "numeric" }) });
      lastDay = day;
    }
    items.push({ kind: "message", key: message.id, message });
  }
  for (const line of system.slice(next)) items.push({ kind: "system", key: `event-${line.seq}`, line });
  return items;
}

/** "Seen by ann, ben": who read up to a message (not its sender), or "" for nobody. */
export function seenByText(names: readonly string[], shown = 3, unnamed = 0): string {
  const total = names.length + unnamed;
  if (total === 0) return "";
  if (names.length === 0) return `Seen by ${unnamed} ${unnamed === 1 ? "person" : "people"}`;
  if (total <= shown && unnamed === 0) return `Seen by ${names.join(", ")}`;
  const named = names.slice(0, shown);
  return `Seen by ${named.join(", ")} and ${total - named.length} more`;
}

/** The @mention being typed where the caret is: the text after its @ and where the @ is, or null when none is. */
export function mentionAt(text: string, caret: number): { query: string; start: number } | null {
  const before = text.slice(0, caret);
  const match = /(?<![\p{L}\p{N}_.@-])@([\p{L}\p{N}_.-]{0,32})$/u.exec(before);
  if (!match) return null;
  return { query: (match[1] ?? "").toLowerCase(), start: match.index };
}

/** The text with the mention at `start` (up to the caret) replaced by `@username `; the caret goes after it. */
export function insertMention(text: string, caret: number, start: number, username: string): { text: string; caret: number } {
  const inserted = `@${username} `;
  return { text: text.slice(0, start) + inserted + text.slice(caret).replace(/^ /, ""), caret: start + inserted.length };
}

export type TextPart = { kind: "text"; text: string } | { kind: "link"; text: string; href: string };

const LINK = /\bhttps?:\/\/[^\s<>"']+/gi;
const TRAILING = /[.,;:!?)\]}]+$/;

/**
 * Splits a body into text and http(s) links. Only http and https become links (never javascript: or data:), a
 * trailing punctuation mark stays text, and the href is what URL parsed, so the link goes where its text says.
 */
export function linkify(body: string): TextPart[] {
  const parts: TextPart[] = [];
  let at = 0;
  for (const match of body.matchAll(LINK)) {
    const raw = match[0].replace(TRAILING, "");
    const start = match.index;
    let href: string;
    try {
      const url = new URL(raw);
      if (url.protocol !== "http:" && url.protocol !== "https:") continue;
      href = url.href;
    } catch {
      continue;
    }
    if (start > at) parts.push({ kind: "text", text: body.slice(at, start) });
    parts.push({ kind: "link", text: raw, href });
    at = start + raw.length;
  }
  if (at < body.length) parts.push({ kind: "text", text: body.slice(at) });
  return parts;
}

/** What a room is called in the list: its name, the other person for a DM, the members for an unnamed group. */
export function roomTitle(room: Pick<MyRoom, "name" | "kind" | "peer">): string {
  if (room.kind === "direct") return room.peer ? room.peer.displayName || room.peer.username : "Direct message";
  if (room.name) return room.name;
  return room.kind === "group" ? groupName([]) : "Unnamed room";
}

/** A message still on its way: shown as pending until the server's copy is on the timeline. */
export interface PendingMessage {
  clientMsgId: string;
  roomId: string;
  body: string;
  replyTo?: string;
  /** A reply in this thread (shown pending in the thread panel, not on the main timeline). */
  threadRootId?: string;
  attachments?: string[];
  /** The id the server gave it once acknowledged (it may reach the timeline a moment later). */
  sentId?: string;
  failed?: string;
}

/** The pending messages of a room not yet on its timeline: acknowledged ones drop out once their message shows. */
export function stillPending(pending: readonly PendingMessage[], roomId: string, timeline: readonly Message[]): PendingMessage[] {
  const shown = new Set(timeline.map((message) => message.id));
  return pending.filter((entry) => entry.roomId === roomId && !(entry.sentId && shown.has(entry.sentId)));
}

/** A search snippet cut into plain and highlighted parts; highlights out of range or overlapping are clamped away. */
export function highlightParts(text: string, highlights: readonly (readonly [number, number])[]): { text: string; hit: boolean }[] {
  const parts: { text: string; hit: boolean }[] = [];
  let at = 0;
  for (const [rawStart, rawEnd] of [...highlights].sort((a, b) => a[0] - b[0])) {
    const start = Math.max(rawStart, at);
    const end = Math.min(rawEnd, text.length);
    if (end <= start) continue;
    if (start > at) parts.push({ text: text.slice(at, start), hit: false });
    parts.push({ text: text.slice(start, end), hit: true });
    at = end;
  }
  if (at < text.length) parts.push({ text: text.slice(at), hit: false });
  return parts;
}
