import type { InfiniteData } from "@tanstack/query-core";
import type { LoggedRoomEvent, Message, MessagePage } from "../../../src/contract.ts";
import { messageChangeOf, onMainTimeline } from "../realtime/message-changes.ts";

/**
 * Changes to cached `messages.list` results. Each is idempotent — applying it to a page that already reflects it
 * returns that page unchanged (the same object) — because the bridge applies it again to whatever a fetch that was
 * in flight brings back. "stale": the page cannot take the change without a hole; it must be fetched again.
 */
export type PageChange = (page: MessagePage, input: ListInput) => MessagePage | "stale";

/** The part of messages.list's input a change needs to place a message. */
export interface ListInput {
  after?: number;
  /** A page of what came before a seq never takes what comes after it, even while it reaches the newest message. */
  before?: number;
}

/** A cached messages.list entry: a page (`useQuery`) or pages (`useInfiniteQuery`). */
export type CachedMessages = MessagePage | InfiniteData<MessagePage>;

/**
 * Where a page ends in the room's log: the position it was read at, or its newest message if that is further (a
 * message committed between reading the position and the messages). Every event up to it is reflected in the page.
 */
function endOf(page: MessagePage): number {
  return Math.max(page.lastSeq, page.messages.at(-1)?.seq ?? 0);
}

/**
 * What a logged event does to a cached page. A page reflects every event up to where it ends; one after it changes
 * the messages the page holds — the edited or deleted message, a reaction's count (`me` kept, or set when the
 * reaction was mine), a pin, quotes of an edited or deleted message, a thread root's summary — and, on the page
 * that ends at the newest message (`hasNewer: false`), takes its place in the room's position: a new main-timeline
 * message is appended (in seq order, once), any other event only moves the page's `lastSeq`, so that the next
 * event still continues it exactly. That page is stale when the event is not the very next one after it: something
 * happened in between that it does not reflect. Thread-only replies are not on the main timeline (messages.thread).
 */
export function roomEventInPages(event: LoggedRoomEvent, me: string | null): PageChange {
  const change = messageChangeOf(event, me);
  const appended = event.type === "message.created" && onMainTimeline(event.message) ? event.message : null;
  return (page, input) => {
    const end = endOf(page);
    if (event.seq <= end) return page; // already reflected: delivered twice, or read after it
    const messages = change ? changedMessages(page.messages, change) : page.messages;
    if (page.hasNewer || input.before !== undefined) return messages === page.messages ? page : { ...page, messages };
    if (event.seq !== end + 1) return "stale";
    return { ...page, messages: appended ? [...messages, appended] : messages, lastSeq: event.seq };
  };
}

/** The messages with a change made to each; the same array when it changed none. */
export function changedMessages(messages: Message[], change: (message: Message) => Message): Message[] {
  let changed = false;
  const next = messages.map((message) => {
    const after = change(message);
    changed ||= after !== message;
    return after;
  });
  return changed ? next : messages;
}

/** Applies a change to a cached entry of either shape; the same object back when nothing changed. */
export function changeMessages(data: CachedMessages, input: ListInput, change: PageChange): CachedMessages | "stale" {
  if (!("pages" in data)) return change(data, input);
  let changed = false;
  const pages: MessagePage[] = [];
  for (const page of data.pages) {
    const next = change(page, input);
    if (next === "stale") return "stale";
    changed ||= next !== page;
    pages.push(next);
  }
  return changed ? { ...data, pages } : data;
}

export function listInputOf(input: unknown): ListInput {
  const cursor = (name: "after" | "before"): number | undefined => {
    const value = typeof input === "object" && input !== null && name in input ? (input as Record<string, unknown>)[name] : undefined;
    return typeof value === "number" ? value : undefined;
  };
  const [after, before] = [cursor("after"), cursor("before")];
  return { ...(after === undefined ? {} : { after }), ...(before === undefined ? {} : { before }) };
}
