import type { InfiniteData } from "@tanstack/query-core";
import type { LoggedRoomEvent } from "../../../src/contract.ts";
import type { ThreadPage } from "../../../src/domain/messages/messages.schema.ts";
import { messageChangeOf } from "../realtime/message-changes.ts";
import { changedMessages } from "./message-pages.ts";

/** A cached messages.thread entry: a page (`useQuery`) or pages (`useInfiniteQuery`), each with the root. */
export type CachedThread = ThreadPage | InfiniteData<ThreadPage>;

/** A change to a cached thread: the entry changed (the same object when unchanged), or "stale": fetch it again. */
export type ThreadChange = (data: CachedThread) => CachedThread | "stale";

/**
 * What a logged event does to a cached `messages.thread` entry: the root and replies it holds change as messages do
 * (edits, deletions, reactions, pins, the root's summary), and a new reply to this root joins the page that reaches
 * the thread's end (`nextCursor: null`) once. Thread pages carry no position, so a reply is appended only when the
 * root's reply count says it is the very next one (the cached count + 1); otherwise the entry is stale.
 */
export function roomEventInThread(event: LoggedRoomEvent, me: string | null): ThreadChange {
  const change = messageChangeOf(event, me);
  const reply = event.type === "message.created" && event.message.threadRootId !== null ? event : null;
  return (data) => {
    const pages = "pages" in data ? data.pages : [data];
    const end = pages.findIndex((page) => page.nextCursor === null);
    let appendTo = -1;
    if (reply && pages[0]?.root.id === reply.message.threadRootId && end >= 0) {
      const known = pages.some((page) => page.replies.some((cached) => cached.id === reply.message.id));
      if (!known) {
        const before = pages[end]?.root.thread?.replyCount ?? 0;
        if (reply.root?.thread?.replyCount !== before + 1) return "stale";
        appendTo = end;
      }
    }
    let changed = false;
    const next = pages.map((page, index) => {
      const root = change ? change(page.root) : page.root;
      const patched = change ? changedMessages(page.replies, change) : page.replies;
      const replies = index === appendTo && reply ? [...patched, reply.message] : patched;
      if (root === page.root && replies === page.replies) return page;
      changed = true;
      return { ...page, root, replies };
    });
    if (!changed) return data;
    return "pages" in data ? { ...data, pages: next } : (next[0] ?? data);
  };
}
