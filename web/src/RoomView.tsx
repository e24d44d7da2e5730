import type { Message, UserProfile } from "@parley/client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { type ReactNode, useEffect, useLayoutEffect, useRef, useState } from "react";
import { Composer } from "./Composer.tsx";
import { useRoomHistory } from "./history.ts";
import { MessageItem, type RowMeasure } from "./MessageItem.tsx";
import { MembersPanel } from "./Panels.tsx";
import { parley } from "./parley.ts";
import { usePending } from "./pending.ts";
import { PinnedList } from "./Pins.tsx";
import { postingLimit } from "./roles.ts";
import { SeenBy } from "./SeenBy.tsx";
import { pending } from "./sending.ts";
import { useSystemLines } from "./system-lines.ts";
import { ThreadPanel } from "./ThreadPanel.tsx";
import { linesInView, roomTitle, stillPending, withDateSeparators } from "./timeline.ts";
import { useTRPC } from "./trpc.ts";

/** Typing lasts this long unless repeated (the server's own timeout is of the same order). */
const TYPING_SHOWN_MS = 6000;
/** How close to an edge of the list (px) counts as at it: scrolling there loads more, or keeps following new messages. */
const EDGE = 40;

/** Rows are estimated at this height (px) until they are measured. */
const ROW_ESTIMATE = 64;

/** One row of the virtualised history: rendered only when near the viewport, measured once it is. */
interface Row {
  key: string;
  /** A message's seq, to find it when jumping. */
  seq?: number;
  render: (row: RowMeasure) => ReactNode;
}

/** A message to show in the room, by its seq (a search result); a new object for each request. */
export interface JumpRequest {
  roomId: string;
  seq: number;
  /** For a reply in a thread (not on the main timeline): its root, whose thread opens. */
  threadRootId?: string | null;
}

/**
 * One room: its history (history.ts: the newest page, extended live by the cache bridge, or the pages around a
 * message jumped to), system lines from its event log, my pending sends, a composer that sends through the SDK's
 * outbox, a thread beside it, its pinned messages, and a read watermark that follows what is shown.
 */
export function RoomView({ roomId, me, onClose, jumpTo = null }: { roomId: string; me: UserProfile; onClose: () => void; jumpTo?: JumpRequest | null }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const room = useQuery(trpc.rooms.get.queryOptions({ roomId }, { staleTime: Infinity }));
  const listed = useQuery(trpc.rooms.list.queryOptions(undefined, { staleTime: Infinity, select: (rooms) => rooms.find((r) => r.id === roomId) }));
  const history = useRoomHistory(roomId);
  const { messages: timeline, olderCursor, newerCursor } = history;
  const atLiveEnd = history.page !== undefined && newerCursor === null;
  const lines = linesInView(useSystemLines(roomId, timeline, history.page ? (timeline[0]?.seq ?? 1) : 1), timeline, { hasOlder: olderCursor !== null, hasNewer: newerCursor !== null });

  const allPending = usePending(pending);
  const mine = stillPending(allPending, roomId, timeline).filter((entry) => !entry.threadRootId);
  // Settled when either side moves: an acknowledgement can come after its message is already on the timeline (the
  // live event first, or a send resumed from an earlier page), and a lingering entry would count as unsent.
  useEffect(() => pending.settle(new Set(timeline.map((message) => message.id))), [timeline, allPending]);

  // Everything on screen is read: move the watermark, and `unread.updated` zeroes the count on all my devices.
  const markRead = useMutation(trpc.messages.markRead.mutationOptions());
  const lastSeq = atLiveEnd ? (timeline.at(-1)?.seq ?? 0) : 0;
  const readSeq = listed.data?.readSeq ?? 0;
  const { mutate: markReadUpTo } = markRead;
  useEffect(() => {
    if (lastSeq > readSeq) markReadUpTo({ roomId, seq: lastSeq });
  }, [roomId, lastSeq, readSeq, markReadUpTo]);

  // Where the history is scrolled to, and what the next render should do about it (the layout effect below).
  const scroller = useRef<HTMLDivElement>(null);
  const prepend = useRef<{ height: number; top: number; rows: number } | null>(null);
  const target = useRef<number | null>(null);
  const following = useRef(true);
  const [highlight, setHighlight] = useState<number | null>(null);
  const onScroll = (): void => {
    const list = scroller.current;
    if (!list || target.current !== null) return;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < EDGE;
    following.current = atBottom && newerCursor === null;
    if (list.scrollTop < EDGE && olderCursor !== null && !history.loadingOlder) {
      prepend.current = { height: list.scrollHeight, top: list.scrollTop, rows: rows.length };
      history.loadOlder();
    } else if (atBottom && newerCursor !== null) {
      history.loadNewer();
    }
  };
  const jump = (seq: number): void => {
    following.current = false;
    target.current = seq;
    setHighlight(seq);
    history.jump(seq);
  };
  const [jumpError, setJumpError] = useState<string | null>(null);
  /** A quote names its message by id: its seq comes from `messages.thread` (any main-timeline message is a root). */
  const jumpToMessage = (messageId: string): void => {
    const shown = timeline.find((message) => message.id === messageId);
    if (shown) return jump(shown.seq);
    queryClient.fetchQuery(trpc.messages.thread.queryOptions({ rootId: messageId, limit: 1 })).then(
      (page) => jump(page.root.seq),
      (error: unknown) => setJumpError(error instanceof Error ? error.message : String(error)),
    );
  };
  const openThread = (rootId: string): void => {
    queryClient.fetchQuery(trpc.messages.thread.queryOptions({ rootId, limit: 1 })).then(
      (page) => {
        setThreadRoot(page.root);
        jump(page.root.seq);
      },
      (error: unknown) => setJumpError(error instanceof Error ? error.message : String(error)),
    );
  };
  // A request is handled once, when it is new (each search result click makes a new one). A thread reply opens its
  // thread, beside its root.
  useEffect(() => {
    if (!jumpTo) return;
    if (jumpTo.threadRootId) openThread(jumpTo.threadRootId);
    else jump(jumpTo.seq);
  }, [jumpTo]);
  const toLive = (): void => {
    following.current = true;
    setHighlight(null);
    history.toLive();
  };
  // Sending while looking at older messages goes back to the live end, where the message will show.
  useEffect(() => {
    if (mine.length > 0 && newerCursor !== null) toLive();
  }, [mine.length, newerCursor]);

  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [threadRoot, setThreadRoot] = useState<Message | null>(null);
  const [showMembers, setShowMembers] = useState(false);
  const typing = useTyping(roomId, me.id, timeline);
  const title = room.data ? (listed.data ? roomTitle(listed.data) : room.data.name) : "";
  const canPin = listed.data ? ["moderator", "admin", "owner"].includes(listed.data.role) : false;
  const limit = room.data ? postingLimit(room.data.settings, listed.data?.role) : null;
  const error = room.error ?? history.error;
  const myLast = atLiveEnd ? [...timeline].reverse().find((message) => message.sender.id === me.id && !message.deletedAt) : undefined;
  const actions = { onReply: setReplyTo, onThread: setThreadRoot, onJump: jumpToMessage, canPin };

  // The history, virtualised: only the rows near the viewport are in the DOM, between two spacers that stand for
  // the rest (their heights set through the CSSOM, which the CSP allows, unlike style attributes).
  const rows: Row[] = [
    {
      key: "older",
      render: (row) => (
        <li key="older" ref={row.ref} data-index={row.index} className="older">
          {olderCursor !== null ? (
            <button type="button" onClick={history.loadOlder} disabled={history.loadingOlder} data-testid="load-older">
              {history.loadingOlder ? "Loading…" : "Load older messages"}
            </button>
          ) : history.page ? (
            <span className="hint">The beginning of the room.</span>
          ) : null}
        </li>
      ),
    },
    ...withDateSeparators(timeline, undefined, lines).map(
      (item): Row => ({
        key: item.key,
        ...(item.kind === "message" ? { seq: item.message.seq } : {}),
        render: (row) =>
          item.kind === "date" ? (
            <li key={item.key} ref={row.ref} data-index={row.index} className="date" data-testid="date-separator">
              <span>{item.label}</span>
            </li>
          ) : item.kind === "system" ? (
            <li key={item.key} ref={row.ref} data-index={row.index} className="system" data-testid="system-line" data-seq={item.line.seq}>
              <bdi>{item.line.text}</bdi>
            </li>
          ) : (
            <MessageItem key={item.key} row={row} message={item.message} me={me} highlighted={item.message.seq === highlight} actions={actions} />
          ),
      }),
    ),
    {
      key: "seen-by",
      render: (row) => (
        <li key="seen-by" ref={row.ref} data-index={row.index} className="seen-by">
          {myLast && mine.length === 0 && <SeenBy message={myLast} />}
        </li>
      ),
    },
    ...(newerCursor !== null
      ? [
          {
            key: "newer",
            render: (row: RowMeasure) => (
              <li key="newer" ref={row.ref} data-index={row.index} className="older">
                <button type="button" onClick={history.loadNewer} disabled={history.loadingNewer} data-testid="load-newer">
                  {history.loadingNewer ? "Loading…" : "Load newer messages"}
                </button>
              </li>
            ),
          },
        ]
      : []),
    ...mine.map(
      (entry): Row => ({
        key: entry.clientMsgId,
        render: (row) => (
          <li key={entry.clientMsgId} ref={row.ref} data-index={row.index} className="message mine pending" data-testid="pending-message" data-failed={entry.failed ? "true" : "false"}>
            <div className="meta">
              <bdi className="sender">{me.displayName || me.username}</bdi>
              <span className="status">{entry.failed ? "not sent" : "sending…"}</span>
            </div>
            <div className="body" dir="auto" data-testid="pending-body">
              {entry.body}
            </div>
            {entry.failed && (
              <div className="actions">
                <span className="notice">{entry.failed}</span>
                <button type="button" onClick={() => pending.retry(entry.clientMsgId)}>
                  Retry
                </button>
                <button type="button" onClick={() => pending.discard(entry.clientMsgId)}>
                  Discard
                </button>
              </div>
            )}
          </li>
        ),
      }),
    ),
  ];
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_ESTIMATE,
    overscan: 8,
    getItemKey: (index) => rows[index]?.key ?? index,
  });
  const virtualRows = virtualizer.getVirtualItems();
  const topSpacer = useRef<HTMLLIElement>(null);
  const bottomSpacer = useRef<HTMLLIElement>(null);
  useLayoutEffect(() => {
    const first = virtualRows[0]?.start ?? 0;
    const last = virtualRows.at(-1)?.end ?? 0;
    if (topSpacer.current) topSpacer.current.style.height = `${first}px`;
    if (bottomSpacer.current) bottomSpacer.current.style.height = `${Math.max(virtualizer.getTotalSize() - last, 0)}px`;
  });
  // Follow new messages while at the bottom of the live end; keep the reading position when older ones are added
  // above; after a jump, bring the message into view once its page is in. (Every render: rows are measured as they
  // show, which moves the bottom.)
  useLayoutEffect(() => {
    const list = scroller.current;
    if (!list) return;
    if (prepend.current) {
      if (rows.length === prepend.current.rows) return;
      list.scrollTop = prepend.current.top + (list.scrollHeight - prepend.current.height);
      prepend.current = null;
    } else if (target.current !== null) {
      const seq = target.current;
      const index = rows.findIndex((row) => row.seq === seq);
      if (index >= 0) virtualizer.scrollToIndex(index, { align: "center" });
      // Found, or not on the main timeline though its page is in (a thread reply): either way, done.
      if (index >= 0 || history.page) target.current = null;
    } else if (following.current) {
      list.scrollTop = list.scrollHeight;
    }
  });

  return (
    <main className="room" data-testid="room-view" aria-labelledby="room-title">
      <header className="room-header">
        <button type="button" className="back" onClick={onClose} aria-label="Back to rooms" data-testid="room-back">
          ←
        </button>
        <h2 id="room-title">
          <bdi data-testid="room-name">{title}</bdi>
        </h2>
        <code className="room-id visually-hidden" data-testid="room-id">
          {roomId}
        </code>
        <span className="spacer" />
        <PinnedList roomId={roomId} onOpen={(message) => jump(message.seq)} />
        <button type="button" className="copy-id" onClick={() => void navigator.clipboard?.writeText(roomId)} title={`Copy the room id (${roomId}): share it to let others join a public room`}>
          Copy id
        </button>
        <button type="button" aria-pressed={showMembers} onClick={() => setShowMembers((shown) => !shown)} data-testid="toggle-members">
          Members
        </button>
      </header>
      {showMembers && <MembersPanel roomId={roomId} />}
      {room.data?.description && (
        <p className="description" dir="auto">
          {room.data.description}
        </p>
      )}
      <div className="room-body">
        <div className="room-main">
          <div className="messages" ref={scroller} onScroll={onScroll} data-testid="messages" role="region" aria-label="Messages" tabIndex={0}>
            <ol className="timeline" aria-label="Message history">
              <li aria-hidden="true" className="spacer-row" ref={topSpacer} />
              {virtualRows.map((virtual) => rows[virtual.index]?.render({ ref: virtualizer.measureElement, index: virtual.index }))}
              <li aria-hidden="true" className="spacer-row" ref={bottomSpacer} />
            </ol>
          </div>
          {newerCursor !== null && (
            <button type="button" className="to-live" onClick={toLive} data-testid="jump-to-live">
              Jump to the latest messages ↓
            </button>
          )}
          <p className="typing" aria-live="polite" data-testid="typing">
            {typing}
          </p>
          {limit && (
            <p className="posting-limit" data-testid="posting-limit">
              {limit}
            </p>
          )}
          <Composer roomId={roomId} replyTo={replyTo} onReplyDone={() => setReplyTo(null)} />
        </div>
        {threadRoot && <ThreadPanel key={threadRoot.id} root={threadRoot} me={me} canPin={canPin} onClose={() => setThreadRoot(null)} />}
      </div>
      <p className="notice" role="alert" data-testid="app-error">
        {error?.message ?? jumpError}
      </p>
    </main>
  );
}

/** "Ann is typing…" from the room's `typing` events, each shown for a while unless repeated or stopped. */
function useTyping(roomId: string, myId: string, timeline: readonly Message[]): string {
  const [typers, setTypers] = useState<ReadonlyMap<string, number>>(new Map());
  useEffect(() => {
    setTypers(new Map());
    const off = parley.realtime.on("typing", (event) => {
      if (event.roomId !== roomId || event.userId === myId) return;
      setTypers((current) => {
        const next = new Map(current);
        if (event.active) next.set(event.userId, Date.now() + TYPING_SHOWN_MS);
        else next.delete(event.userId);
        return next;
      });
    });
    const offMessage = parley.realtime.on("message.created", (event) => {
      if (event.roomId === roomId) setTypers((current) => (current.has(event.message.sender.id) ? new Map([...current].filter(([id]) => id !== event.message.sender.id)) : current));
    });
    const timer = setInterval(() => setTypers((current) => (([...current.values()].some((until) => until < Date.now())) ? new Map([...current].filter(([, until]) => until >= Date.now())) : current)), 1000);
    return () => {
      off();
      offMessage();
      clearInterval(timer);
    };
  }, [roomId, myId]);
  if (typers.size === 0) return "";
  const names = [...typers.keys()].map((id) => {
    const sender = [...timeline].reverse().find((message) => message.sender.id === id)?.sender;
    return sender ? sender.displayName || sender.username : "Someone";
  });
  return names.length === 1 ? `${names[0]} is typing…` : `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are typing…`;
}
