import type { InfiniteData } from "@tanstack/query-core";
import type { Message, MessagePage } from "../../../src/contract.ts";

/**
 * Changes to cached `messages.list` results. Each is idempotent — applying it to a page that already reflects it
 * returns that page unchanged (the same object) — because the bridge applies it again to whatever a fetch that was
 * in flight brings back. "stale": the page cannot take the change without a hole; it must be fetched again.
 */
export type PageChange = (page: MessagePage, input: ListInput) => MessagePage | "stale";

/** The part of messages.list's input a change needs to place a message. */
export interface ListInput {
  after?: number;
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
 * A new message joins the page that ends at the newest message (`hasNewer: false`), in seq order and once, when it
 * is the very next event after where the page ends. Pages further back are left alone. A page that ends before
 * `seq − 1` is stale: something happened in between that the page does not reflect.
 */
export function messageCreated(message: Message): PageChange {
  return (page) => {
    if (page.hasNewer) return page;
    const end = endOf(page);
    if (message.seq <= end) return page; // already there, or older than this page reaches
    if (message.seq !== end + 1) return "stale";
    return { ...page, messages: [...page.messages, message], lastSeq: message.seq };
  };
}

/**
 * Another logged event of the room (a join, a rename, …) took the next seq: the newest page now reaches it too, so a
 * message after it still continues the page exactly.
 */
export function positionMoved(seq: number): PageChange {
  return (page) => {
    if (page.hasNewer) return page;
    const end = endOf(page);
    if (seq <= end) return page;
    if (seq !== end + 1) return "stale";
    return { ...page, lastSeq: seq };
  };
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
  const after = typeof input === "object" && input !== null && "after" in input ? input.after : undefined;
  return typeof after === "number" ? { after } : {};
}
