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
 * A new message joins the page that ends at the newest message (`hasNewer: false`), in seq order and once. Pages
 * further back are left alone. A page that ends before `seq - 1` is stale: appending would hide the messages between.
 */
export function messageCreated(message: Message): PageChange {
  return (page, input) => {
    if (page.hasNewer) return page;
    const last = page.messages.at(-1)?.seq;
    if (last !== undefined && message.seq <= last) return page; // already there, or older than this page reaches
    // An empty page ends where it started: after `after`, or at 0 in an empty room.
    const end = last ?? input.after ?? (page.hasOlder ? undefined : 0);
    if (end === undefined || message.seq !== end + 1) return "stale";
    return { ...page, messages: [...page.messages, message] };
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
