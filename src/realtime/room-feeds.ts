import type { StreamPosition } from "../domain/room-log/room-log.ts";
import type { EventBus, Unsubscribe } from "../infra/bus/bus.ts";
import type { EventFrame } from "../infra/recent-events/recent-events.ts";
import type { Logger } from "../lib/logger.ts";
import { frameBytes, HistoryPager } from "./history-pages.ts";
import type { LocalFanout, SocketHandle } from "./socket.ts";
import { roomTopic } from "./topics.ts";

/** Where committed history (each room's event log) is read from when the bus did not (or not yet) deliver it. */
export interface RoomHistory {
  /** The room's committed position (null for no such room). */
  position(roomId: string): Promise<StreamPosition | null>;
  /** The committed position of each room, in one read. */
  positions(roomIds: readonly string[]): Promise<Map<string, StreamPosition>>;
  /** Logged events with afterSeq < seq ≤ throughSeq, as frames, ascending, at most `limit`. */
  range(roomId: string, afterSeq: number, throughSeq: number, limit: number): Promise<EventFrame[]>;
}

/** This instance's view of one room's stream. */
export interface RoomFeed {
  readonly roomId: string;
  readonly topic: string;
  /** The seq of the last logged event forwarded to the room's local topic: every local subscriber has seen it. */
  position(): number;
  /** The room's stream epoch: positions of another epoch mean nothing here. */
  epoch(): number;
  /**
   * Runs `attach` synchronously at the moment the feed's position is exactly `seq` — after message `seq` went
   * to the topic and before `seq + 1` does — so a socket attached by it misses nothing and gets nothing twice.
   * Filled from history when the bus is late. `seq` must be ≥ position(). Resolves "stopped" (without
   * attaching) if the feed was released first.
   */
  attachAt(seq: number, attach: () => void): Promise<"attached" | "stopped">;
}

export interface RoomFeeds {
  /** Follows the room on this instance (one bus subscription however many local sockets); refcounted. */
  retain(roomId: string): Promise<RoomFeed>;
  release(roomId: string): void;
  /** Rooms this instance follows. */
  rooms(): string[];
  /** After the bus was down: re-reads every followed room's position and forwards what was missed. */
  reconcile(): Promise<void>;
  /**
   * One tail check: a room whose feed is still behind what was already committed at the previous check has lost
   * its newest messages on the way (a publish that never happened or never arrived, with no later message to
   * reveal the gap) — they are read from history. Runs every `tailCheckMs` on its own.
   */
  checkTails(): Promise<void>;
  close(): void;
}

interface FeedState extends RoomFeed {
  refs: number;
  lastSeq: number;
  streamEpoch: number;
  /** Bus messages that arrived before the starting position was known. */
  early: string[] | null;
  /** Out-of-order messages, by seq, waiting for the gap before them to close. */
  pending: Map<number, string>;
  /** Attachments waiting for the position to reach a seq; called with false if the feed stops first. */
  waiters: Map<number, ((attach: boolean) => void)[]>;
  /** The highest seq known to be committed but not yet forwarded. */
  fillTarget: number;
  /** The room's committed last seq at the previous tail check. */
  observed: number;
  gapTimer: ReturnType<typeof setTimeout> | null;
  filling: Promise<void> | null;
  unsubscribe: Unsubscribe | null;
  ready: Promise<void>;
}

/** A gap fill checks the room's sockets' buffers after each this many bytes forwarded. */
const FILL_CHUNK_BYTES = 64 * 1024;

export interface RoomFeedsDeps {
  bus: EventBus;
  fanout: LocalFanout;
  history: RoomHistory;
  logger: Logger;
  /** How long an out-of-order message waits for the ones before it before they are read from history. */
  gapWaitMs: number;
  /** How often followed rooms are compared with the committed history (0: never). */
  tailCheckMs: number;
  /**
   * Called after each chunk a gap fill forwarded from history — a burst to every local socket in the room — so
   * those it pushed past their buffer limit are closed (4002) before the next chunk.
   */
  checkReaders?(roomId: string): void;
  /** Each room event forwarded, with the number of local sockets it reached (for metrics). */
  onDelivered?(sockets: number): void;
  /**
   * Subscribed sockets that must not get this frame without a seq (presence and typing of someone they blocked or
   * who blocked them: presence-screen.ts); null when all may.
   */
  withheld?(roomId: string, raw: string): SocketHandle[] | null;
}

/** Rooms per history read in a tail check. */
const TAIL_CHECK_BATCH = 500;

/**
 * The per-instance sequencer between the bus and local sockets. Room events are forwarded to a room's topic in
 * strict seq order with no gaps and no repeats, whatever order the bus delivers them in (or whether it delivers
 * them at all): a late or missing message is read back from history. Events without a seq (typing, presence,
 * membership) pass straight through.
 */
export function createRoomFeeds(deps: RoomFeedsDeps): RoomFeeds {
  const feeds = new Map<string, FeedState>();
  let checking = false;
  const tailTimer =
    deps.tailCheckMs > 0
      ? setInterval(() => {
          if (checking) return;
          checking = true;
          feedsApi
            .checkTails()
            .catch((error: unknown) => deps.logger.warn("tail check failed", { error }))
            .finally(() => (checking = false));
        }, deps.tailCheckMs)
      : null;
  tailTimer?.unref?.(); // the tail check must not keep a stopping process alive

  /** Publishes to the room's local sockets and counts it (not inside `?.()`: that would skip the publish). */
  function publish(feed: FeedState, raw: string): void {
    const sockets = deps.fanout.publish(feed.topic, raw);
    deps.onDelivered?.(sockets);
  }

  /**
   * A frame without a seq. The few sockets that must not see it leave the topic for the publish and rejoin it at
   * once — synchronously, so no other frame of the topic can pass in between and none is lost or reordered.
   */
  function publishEphemeral(feed: FeedState, raw: string): void {
    const withheld = deps.withheld?.(feed.roomId, raw) ?? null;
    if (withheld === null) return publish(feed, raw);
    for (const socket of withheld) deps.fanout.unsubscribe(socket, feed.topic);
    try {
      publish(feed, raw);
    } finally {
      // A socket that began closing meanwhile stays out: its connection may already have let go of the topic.
      for (const socket of withheld) if (!socket.closing) deps.fanout.subscribe(socket, feed.topic);
    }
  }

  function forward(feed: FeedState, seq: number, raw: string): void {
    publish(feed, raw);
    feed.lastSeq = seq;
    const waiting = feed.waiters.get(seq);
    if (waiting) {
      feed.waiters.delete(seq);
      for (const settle of waiting) settle(true);
    }
  }

  function drainPending(feed: FeedState): void {
    for (let next = feed.pending.get(feed.lastSeq + 1); next !== undefined; next = feed.pending.get(feed.lastSeq + 1)) {
      feed.pending.delete(feed.lastSeq + 1);
      forward(feed, feed.lastSeq + 1, next);
    }
    for (const seq of feed.pending.keys()) if (seq <= feed.lastSeq) feed.pending.delete(seq);
    if (feed.pending.size === 0 && feed.gapTimer) {
      clearTimeout(feed.gapTimer);
      feed.gapTimer = null;
    }
  }

  function receive(feed: FeedState, raw: string): void {
    if (feed.early) {
      feed.early.push(raw);
      return;
    }
    // Logged events carry a numeric `seq` and are sequenced; typing, presence and receipts have none and pass.
    // (A frame without the key at all cannot have the field: only those are spared the parse.)
    if (!raw.includes('"seq":')) {
      publishEphemeral(feed, raw);
      return;
    }
    const seq = seqOf(raw);
    if (seq === undefined) {
      publishEphemeral(feed, raw);
      return;
    }
    if (seq === null) {
      deps.logger.warn("dropped an undecodable room event from the bus", { roomId: feed.roomId });
      return;
    }
    if (seq <= feed.lastSeq) return; // already forwarded (read from history, or a duplicate)
    if (seq === feed.lastSeq + 1) {
      forward(feed, seq, raw);
      drainPending(feed);
      return;
    }
    feed.pending.set(seq, raw);
    scheduleFill(feed, seq - 1);
  }

  function scheduleFill(feed: FeedState, throughSeq: number): void {
    feed.fillTarget = Math.max(feed.fillTarget, throughSeq);
    if (feed.gapTimer) return;
    feed.gapTimer = setTimeout(() => {
      feed.gapTimer = null;
      if (feed.fillTarget > feed.lastSeq) void fillTo(feed, feed.fillTarget);
    }, deps.gapWaitMs);
    feed.gapTimer.unref?.(); // a pending gap fill must not keep a draining process alive
  }

  /**
   * Reads (position, throughSeq] from history and forwards it in order; one fill per feed at a time. A fill goes
   * to every socket in the room at once, so it cannot wait for any one of them: it is paced instead — pages of
   * about 64 KiB, forwarded in chunks of FILL_CHUNK_BYTES with a turn of the event loop between them, each chunk
   * followed by `checkReaders`, which closes the sockets it pushed past their buffer limit.
   */
  function fillTo(feed: FeedState, throughSeq: number): Promise<void> {
    const following = (): boolean => feeds.get(feed.roomId) === feed;
    const run = async (): Promise<void> => {
      const pager = new HistoryPager();
      let chunk = 0;
      while (feed.lastSeq < throughSeq && following()) {
        const events = await deps.history.range(feed.roomId, feed.lastSeq, throughSeq, pager.pageSize());
        if (events.length === 0) {
          deps.logger.error("history has no events the bus announced", { roomId: feed.roomId, position: feed.lastSeq, throughSeq });
          return;
        }
        for (const event of events) {
          if (event.seq !== feed.lastSeq + 1) continue; // the bus caught up while we were reading
          forward(feed, event.seq, event.frame);
          const bytes = frameBytes(event.frame);
          pager.record(bytes);
          chunk += bytes;
          if (chunk < FILL_CHUNK_BYTES) continue;
          chunk = 0;
          deps.checkReaders?.(feed.roomId);
          await new Promise((resolve) => setTimeout(resolve, 0));
          if (!following()) return;
        }
        drainPending(feed);
      }
      if (chunk > 0) deps.checkReaders?.(feed.roomId);
    };
    const previous = feed.filling ?? Promise.resolve();
    const next = previous.then(run).catch((error: unknown) => {
      deps.logger.error("could not fill a room gap from history; retrying", { roomId: feed.roomId, error });
      if (feeds.get(feed.roomId) === feed) scheduleFill(feed, throughSeq);
    });
    feed.filling = next;
    void next.finally(() => {
      if (feed.filling === next) feed.filling = null;
    });
    return next;
  }

  async function start(feed: FeedState): Promise<void> {
    feed.unsubscribe = await deps.bus.subscribe(feed.topic, (raw) => receive(feed, raw));
    // Read the position only once the subscription is live: everything committed after it arrives on the bus.
    const position = await deps.history.position(feed.roomId);
    feed.lastSeq = position?.lastSeq ?? 0;
    feed.streamEpoch = position?.epoch ?? 0;
    const early = feed.early ?? [];
    feed.early = null;
    for (const raw of early) receive(feed, raw);
  }

  function stop(feed: FeedState): void {
    if (feeds.get(feed.roomId) === feed) feeds.delete(feed.roomId);
    feed.unsubscribe?.();
    if (feed.gapTimer) clearTimeout(feed.gapTimer);
    for (const waiting of feed.waiters.values()) for (const settle of waiting) settle(false);
    feed.waiters.clear();
  }

  function createFeed(roomId: string): FeedState {
    const feed: FeedState = {
      roomId,
      topic: roomTopic(roomId),
      refs: 0,
      lastSeq: 0,
      streamEpoch: 0,
      early: [],
      pending: new Map(),
      waiters: new Map(),
      fillTarget: 0,
      observed: 0,
      gapTimer: null,
      filling: null,
      unsubscribe: null,
      ready: Promise.resolve(),
      position: () => feed.lastSeq,
      epoch: () => feed.streamEpoch,
      attachAt: async (seq, attach) => {
        if (seq < feed.lastSeq) throw new Error(`cannot attach at ${seq}: the feed is already at ${feed.lastSeq}`);
        if (seq === feed.lastSeq) {
          attach();
          return "attached";
        }
        return new Promise((resolve) => {
          const waiting = feed.waiters.get(seq) ?? [];
          waiting.push((attachNow) => {
            if (attachNow) attach();
            resolve(attachNow ? "attached" : "stopped");
          });
          feed.waiters.set(seq, waiting);
          // `seq` is committed (the caller read it from history), so if the bus is slow, read it ourselves.
          scheduleFill(feed, seq);
        });
      },
    };
    return feed;
  }

  const feedsApi: RoomFeeds = {
    async retain(roomId) {
      let feed = feeds.get(roomId);
      if (!feed) {
        const created = createFeed(roomId);
        feeds.set(roomId, created);
        created.ready = start(created).catch((error: unknown) => {
          stop(created);
          throw error;
        });
        feed = created;
      }
      feed.refs += 1;
      try {
        await feed.ready;
      } catch (error) {
        feed.refs -= 1;
        throw error;
      }
      return feed;
    },
    release(roomId) {
      const feed = feeds.get(roomId);
      if (!feed) return;
      feed.refs -= 1;
      if (feed.refs <= 0) stop(feed);
    },
    rooms: () => [...feeds.keys()],
    async reconcile() {
      const fills: Promise<void>[] = [];
      await forEachCommitted((feed, committed) => {
        if (committed > feed.lastSeq) fills.push(fillTo(feed, committed));
      });
      await Promise.all(fills);
    },
    checkTails: () =>
      forEachCommitted((feed, committed) => {
        if (feed.observed > feed.lastSeq) {
          deps.logger.warn("room feed behind history for a whole check: reading the tail", { roomId: feed.roomId, position: feed.lastSeq, committed: feed.observed });
          void fillTo(feed, feed.observed);
        }
        feed.observed = committed;
      }),
    close() {
      if (tailTimer) clearInterval(tailTimer);
    },
  };
  return feedsApi;

  /** Reads the committed last seq of every started feed, a batch at a time, and hands each to `visit`. */
  async function forEachCommitted(visit: (feed: FeedState, committed: number) => void): Promise<void> {
    const started = [...feeds.values()].filter((feed) => feed.early === null);
    for (let from = 0; from < started.length; from += TAIL_CHECK_BATCH) {
      const batch = started.slice(from, from + TAIL_CHECK_BATCH);
      const committed = await deps.history.positions(batch.map((feed) => feed.roomId));
      for (const feed of batch) if (feeds.get(feed.roomId) === feed) visit(feed, committed.get(feed.roomId)?.lastSeq ?? feed.lastSeq);
    }
  }
}

/** The event's seq: a positive integer, undefined when it has none (an ephemeral event), null when undecodable. */
function seqOf(raw: string): number | null | undefined {
  try {
    const event = JSON.parse(raw) as { seq?: unknown };
    if (event.seq === undefined) return undefined;
    return typeof event.seq === "number" && Number.isSafeInteger(event.seq) && event.seq > 0 ? event.seq : null;
  } catch {
    return null;
  }
}
