import type { UserProfile } from "@parley/client";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { fieldsOf } from "./AuthView.tsx";
import { useTRPC } from "./trpc.ts";

const HISTORY = 50;

/**
 * One room: the last 50 messages from `messages.list`, then live ones, which the cache bridge appends to that very
 * query's data (so it is never refetched for them); a send box; and a read watermark that follows what is shown.
 */
export function RoomView({ roomId, me }: { roomId: string; me: UserProfile }) {
  const trpc = useTRPC();
  const room = useQuery(trpc.rooms.get.queryOptions({ roomId }, { staleTime: Infinity }));
  const listed = useQuery(trpc.rooms.list.queryOptions(undefined, { staleTime: Infinity, select: (rooms) => rooms.find((r) => r.id === roomId) }));
  const history = useQuery(trpc.messages.list.queryOptions({ roomId, limit: HISTORY }, { staleTime: Infinity }));
  const send = useMutation(trpc.messages.send.mutationOptions());
  const markRead = useMutation(trpc.messages.markRead.mutationOptions());

  // Everything on screen is read: move the watermark, and `unread.updated` zeroes the count on all my devices.
  const lastSeq = history.data?.messages.at(-1)?.seq ?? 0;
  const readSeq = listed.data?.readSeq ?? 0;
  const { mutate: markReadUpTo } = markRead;
  useEffect(() => {
    if (lastSeq > readSeq) markReadUpTo({ roomId, seq: lastSeq });
  }, [roomId, lastSeq, readSeq, markReadUpTo]);

  const end = useRef<HTMLLIElement>(null);
  useEffect(() => {
    end.current?.scrollIntoView({ block: "end" }); // (newer browsers return a promise here, which an effect must not)
  }, [lastSeq]);

  const error = room.error ?? history.error ?? send.error;
  return (
    <main className="room" data-testid="room-view">
      <h2>
        <bdi data-testid="room-name">{room.data?.name}</bdi> <code data-testid="room-id">{roomId}</code>
      </h2>
      {history.data?.hasOlder && <p className="hint">Older messages are not shown.</p>}
      <ol className="messages" data-testid="messages">
        {history.data?.messages.map((message) => (
          <li key={message.seq} data-testid="message" data-seq={message.seq} className={message.sender.id === me.id ? "mine" : undefined}>
            <bdi className="sender" data-testid="message-sender">
              {message.sender.username}
            </bdi>
            <span className="body" dir="auto" data-testid="message-body">
              {message.body}
            </span>
          </li>
        ))}
        <li ref={end} className="end" aria-hidden />
      </ol>
      <form
        className="send"
        onSubmit={(event) => {
          const body = fieldsOf(event).get("body");
          const form = event.currentTarget;
          send.mutate({ roomId, clientMsgId: crypto.randomUUID(), body }, { onSuccess: () => form.reset() });
        }}
      >
        <input name="body" placeholder="Message" autoComplete="off" required data-testid="message-input" />
        <button type="submit" disabled={send.isPending} data-testid="message-send">
          Send
        </button>
      </form>
      <p className="notice" role="alert" data-testid="app-error">
        {error?.message}
      </p>
    </main>
  );
}
