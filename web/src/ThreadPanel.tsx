import type { Message, UserProfile } from "@parley/client";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { Composer } from "./Composer.tsx";
import { MessageItem } from "./MessageItem.tsx";
import { usePending } from "./pending.ts";
import { pending } from "./sending.ts";
import { useTRPC } from "./trpc.ts";

/**
 * A thread beside the room: its root and replies (`messages.thread`, kept live by the SDK's cache bridge), my
 * pending replies, and a composer that sends into the thread. Escape or ✕ closes it.
 */
export function ThreadPanel({ root, me, canPin, onClose }: { root: Message; me: UserProfile; canPin: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const thread = useQuery(trpc.messages.thread.queryOptions({ rootId: root.id, limit: 100 }, { staleTime: Infinity }));
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const replies = thread.data?.replies ?? [];
  const shown = new Set(replies.map((reply) => reply.id));
  const allPending = usePending(pending);
  const mine = allPending.filter((entry) => entry.threadRootId === root.id && !(entry.sentId && shown.has(entry.sentId)));
  useEffect(() => pending.settle(shown), [replies, allPending]); // either may come first, as in the room view

  const list = useRef<HTMLOListElement>(null);
  useLayoutEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [replies.length, mine.length]);

  const actions = { onReply: setReplyTo, canPin };
  return (
    <aside
      className="thread-panel"
      aria-labelledby="thread-heading"
      data-testid="thread-panel"
      onKeyDown={(event) => {
        if (event.key === "Escape" && !event.defaultPrevented) onClose();
      }}
    >
      <div className="panel-head">
        <h3 id="thread-heading">Thread</h3>
        <button type="button" onClick={onClose} aria-label="Close thread" data-testid="thread-close">
          ✕
        </button>
      </div>
      <ol className="messages thread-messages" ref={list} aria-label="Thread messages" data-testid="thread-messages" tabIndex={0}>
        <MessageItem message={thread.data?.root ?? root} me={me} actions={actions} />
        <li className="thread-count" data-testid="thread-reply-count">
          {thread.data ? (replies.length === 1 ? "1 reply" : `${replies.length} replies`) : "Loading…"}
        </li>
        {replies.map((reply) => (
          <MessageItem key={reply.id} message={reply} me={me} actions={actions} />
        ))}
        {mine.map((entry) => (
          <li key={entry.clientMsgId} className="message mine pending" data-testid="pending-message" data-failed={entry.failed ? "true" : "false"}>
            <div className="body" dir="auto">
              {entry.body}
            </div>
            <span className="status">{entry.failed ? `not sent: ${entry.failed}` : "sending…"}</span>
          </li>
        ))}
      </ol>
      <Composer roomId={root.roomId} threadRootId={root.id} replyTo={replyTo} onReplyDone={() => setReplyTo(null)} label="Reply in thread" />
      <p className="notice" role="alert">
        {thread.error?.message}
      </p>
    </aside>
  );
}
