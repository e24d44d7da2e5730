import type { Message, MessagePage } from "@parley/client";
import { useQueries, useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { mergePages, nextNewerCursor, nextOlderCursor } from "./timeline.ts";
import { useTRPC } from "./trpc.ts";

const PAGE = 50;

/** Which part of the room is loaded: the live end, or a span around a message jumped to, plus pages on either side. */
interface Span {
  around: number | null;
  older: number[];
  newer: number[];
}

export interface RoomHistory {
  messages: Message[];
  /** The first page (the newest one, or the one around the message jumped to): undefined until it is in. */
  page: MessagePage | undefined;
  error: { message: string } | null;
  olderCursor: number | null;
  /** Not null while the span stops short of the live end (after a jump). */
  newerCursor: number | null;
  loadingOlder: boolean;
  loadingNewer: boolean;
  loadOlder: () => void;
  loadNewer: () => void;
  /** Loads the span around `seq` (unless it is shown already). */
  jump: (seq: number) => void;
  /** Back to the newest page. */
  toLive: () => void;
}

/**
 * A room's history as pages of `messages.list`, all kept current by the SDK's cache bridge: the newest page (which
 * the bridge extends live) or, after a jump, the page `around` a seq; older pages (`before`) loaded on scrolling up,
 * and after a jump newer pages (`after`) on scrolling down, until one reaches the live end and is extended live.
 */
export function useRoomHistory(roomId: string): RoomHistory {
  const trpc = useTRPC();
  const [span, setSpan] = useState<Span>({ around: null, older: [], newer: [] });
  const base = useQuery(
    trpc.messages.list.queryOptions(span.around === null ? { roomId, limit: PAGE } : { roomId, limit: PAGE, around: span.around }, { staleTime: Infinity }),
  );
  const older = useQueries({ queries: span.older.map((before) => trpc.messages.list.queryOptions({ roomId, limit: PAGE, before }, { staleTime: Infinity })) });
  const newer = useQueries({ queries: span.newer.map((after) => trpc.messages.list.queryOptions({ roomId, limit: PAGE, after }, { staleTime: Infinity })) });
  const olderPages = older.map((query) => query.data);
  const newerPages = newer.map((query) => query.data);
  // The side pages change when one loads or the bridge edits one: their update times say when, in one stable key.
  const version = [...older, ...newer].map((query) => query.dataUpdatedAt).join();
  const messages = useMemo(() => mergePages(base.data, [...olderPages, ...newerPages]), [base.data, version]);
  const olderCursor = nextOlderCursor(base.data, olderPages);
  const newerCursor = nextNewerCursor(base.data, newerPages);
  const loadingOlder = older.some((query) => query.isFetching);
  const loadingNewer = newer.some((query) => query.isFetching);
  return {
    messages,
    page: base.data,
    error: base.error,
    olderCursor,
    newerCursor,
    loadingOlder,
    loadingNewer,
    loadOlder: () => {
      if (olderCursor !== null && !loadingOlder) setSpan((current) => (current.older.includes(olderCursor) ? current : { ...current, older: [...current.older, olderCursor] }));
    },
    loadNewer: () => {
      if (newerCursor !== null && !loadingNewer) setSpan((current) => (current.newer.includes(newerCursor) ? current : { ...current, newer: [...current.newer, newerCursor] }));
    },
    jump: (seq) => {
      if (!messages.some((message) => message.seq === seq)) setSpan({ around: seq, older: [], newer: [] });
    },
    toLive: () => setSpan({ around: null, older: [], newer: [] }),
  };
}
