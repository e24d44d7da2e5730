import type { Message, MessagePage, MyRoom } from "@parley/client";
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

export type TimelineItem = { kind: "date"; key: string; label: string } | { kind: "message"; key: string; message: Message };

/** Messages with a date line before the first message of each calendar day (in the viewer's time zone). */
export function withDateSeparators(messages: readonly Message[], locale?: string): TimelineItem[] {
  const items: TimelineItem[] = [];
  let lastDay = "";
  for (const message of messages) {
    const at = new Date(message.createdAt);
    const day = `${at.getFullYear()}-${at.getMonth()}-${at.getDate()}`;
    if (day !== lastDay) {
      items.push({ kind: "date", key: `date-${day}`, label: at.toLocaleDateString(locale, { weekday: "long", year: "numeric", month: "long", day: "numeric" }) });
      lastDay = day;
    }
    items.push({ kind: "message", key: message.id, message });
  }
  return items;
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
