import type { Logger } from "../lib/logger.ts";
import { frameBytes, HistoryPager } from "./history-pages.ts";
import type { RoomFeed, RoomHistory } from "./room-feeds.ts";
import type { SocketHandle } from "./socket.ts";

export type ResumeOutcome =
  | { recovered: true; position: number }
  /** `reset`: the client's position was of another epoch — its view of the room must be rebuilt, not continued. */
  | { recovered: false; position: number; missed: { fromSeq: number; toSeq: number } | null; reset: boolean };

export interface ReplayDeps {
  history: Pick<RoomHistory, "position" | "range">;
  /** Missed events replayed per room; beyond it the client is told to page history itself. */
  resumeMaxMessages: number;
  /** A replay writes to a socket only while this much or less is queued for it. */
  maxBufferedBytes: number;
  /** A socket whose buffer has not drained at all for this long is given to `closeStalled`. */
  stallTimeoutMs: number;
  /** Closes the socket of a target that stopped draining with 4002 (and reports it). */
  closeStalled(target: ReplayTarget): void;
}

/** The socket a replay writes to, as its connection sees it. */
export interface ReplayTarget {
  readonly userId: string;
  readonly socket: SocketHandle;
  /** True once the connection ended (either side closed): the replay stops. */
  readonly closed: boolean;
  readonly logger: Logger;
}

/** Polling a full buffer: quickly while it drains, backing off while it does not. */
const POLL_MIN_MS = 2;
const POLL_MAX_MS = 100;

/**
 * Sends what followed `fromSeq` from history, then attaches at exactly the feed's position. Loops because the
 * room may move on while history is read; stops replaying (recovered: false) past the budget.
 *
 * Written under backpressure: a frame goes out only when the socket's queue has room for it under
 * `maxBufferedBytes` (so a replay never makes a socket hold more than the limit), and a page is read from history
 * only when the socket has room — a reader that stopped reading holds no history here. One whose queue does not
 * drain at all for `stallTimeoutMs` is closed with 4002; it resumes later from what it did receive.
 */
export async function replayRoom(
  target: ReplayTarget,
  feed: RoomFeed,
  fromSeq: number,
  attachNow: () => void,
  deps: ReplayDeps,
): Promise<ResumeOutcome> {
  const { roomId } = feed;
  const pager = new HistoryPager();
  try {
    let cursor = fromSeq;
    let replayed = 0;
    for (;;) {
      if (target.closed) return { recovered: true, position: cursor };
      const position = feed.position();
      if (cursor > position) {
        // The client saw more than this instance has forwarded (it was on a faster one): wait for the feed to get
        // there. Unless the client claims events the database does not have — a database restored from a backup
        // to before them: its next events will take those seqs, so continuing would hand the client a wrong view.
        const stored = (await deps.history.position(roomId))?.lastSeq ?? 0;
        if (cursor > stored) {
          attachNow();
          const now = feed.position();
          return { recovered: false, position: now, missed: now > 0 ? { fromSeq: 1, toSeq: now } : null, reset: true };
        }
        if (cursor > feed.position()) {
          await feed.attachAt(cursor, attachNow);
          return { recovered: true, position: cursor };
        }
        continue;
      }
      if (cursor === position) {
        attachNow();
        return { recovered: true, position };
      }
      if (position - cursor > deps.resumeMaxMessages - replayed) {
        attachNow();
        return { recovered: false, position, missed: { fromSeq: cursor + 1, toSeq: position }, reset: false };
      }
      if (!(await roomFor(target, 0, deps))) return { recovered: true, position: cursor };
      const page = await deps.history.range(roomId, cursor, position, Math.min(pager.pageSize(), position - cursor));
      if (page.length === 0) {
        target.logger.error("history is missing events the feed forwarded", { roomId, cursor, position });
        const now = feed.position();
        attachNow();
        return { recovered: false, position: now, missed: { fromSeq: cursor + 1, toSeq: now }, reset: false };
      }
      for (const event of page) {
        if (event.seq <= cursor) continue;
        const bytes = frameBytes(event.frame);
        if (!(await roomFor(target, bytes, deps))) return { recovered: true, position: cursor };
        target.socket.send(event.frame);
        pager.record(bytes);
        cursor = event.seq;
        replayed += 1;
      }
    }
  } catch (error) {
    target.logger.warn("resume could not read history", { roomId, error });
    const position = feed.position();
    attachNow();
    return { recovered: false, position, missed: fromSeq < position ? { fromSeq: fromSeq + 1, toSeq: position } : null, reset: false };
  }
}

/**
 * Resolves true once the socket can take `bytes` more without holding more than the limit (an empty queue
 * always can: a frame larger than the limit still goes out alone). False if the socket closed meanwhile, or
 * made no progress for the stall timeout — then it is closed here.
 */
async function roomFor(target: ReplayTarget, bytes: number, deps: ReplayDeps): Promise<boolean> {
  const { socket } = target;
  let previous = Infinity;
  let progressAt = Date.now();
  let pause = POLL_MIN_MS;
  for (;;) {
    if (target.closed || socket.closing) return false;
    const buffered = socket.bufferedAmount();
    if (buffered === 0 || buffered + bytes <= deps.maxBufferedBytes) return true;
    const now = Date.now();
    if (buffered < previous) {
      progressAt = now;
      pause = Math.max(POLL_MIN_MS, pause / 2);
    } else if (now - progressAt >= deps.stallTimeoutMs) {
      deps.closeStalled(target);
      return false;
    } else {
      pause = Math.min(POLL_MAX_MS, pause * 2);
    }
    previous = buffered;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
