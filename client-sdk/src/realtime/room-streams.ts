import type { LoggedRoomEvent, LoggedRoomEventType, ResumePosition, ResumePositions } from "../../../src/contract.ts";

/** The room events that carry a seq and go through the room's stream; a Record so a new one cannot be forgotten here. */
export const LOGGED_EVENT_TYPES: Readonly<Record<LoggedRoomEventType, true>> = {
  "message.created": true,
  "message.edited": true,
  "message.deleted": true,
  "reaction.added": true,
  "reaction.removed": true,
  "message.pinned": true,
  "message.unpinned": true,
  "member.joined": true,
  "member.left": true,
  "member.role": true,
  "member.muted": true,
  "member.unmuted": true,
  "room.updated": true,
};

/** One page of a room's log after a seq (`rooms.events`), with the epoch its seqs belong to. */
export interface LogPage {
  events: LoggedRoomEvent[];
  epoch: number;
}

export interface RoomStreams {
  /**
   * Delivers a logged room event (a message, a join, an edit, …) once and in seq order; a jump ahead first fetches
   * what is missing from the room's log.
   */
  accept(event: LoggedRoomEvent): void;
  /** The seq of the last event delivered for the room, if the room is known. */
  position(roomId: string): number | undefined;
  /** Where each room stands, for a resume map: only rooms whose epoch is known (the server could not place the rest). */
  positions(): ResumePositions;
  /**
   * Adopts a position (from `ready`, a membership event, or history the app loaded) if it is further along. With an
   * epoch other than the room's, the old position means nothing any more: the stream starts over at this one.
   */
  advance(roomId: string, seq: number, epoch?: number): void;
  forget(roomId: string): void;
}

export interface RoomStreamsDeps {
  /** The room's logged events after `afterSeq`, ascending, at most `limit` (`rooms.events`). */
  fetchAfter(roomId: string, afterSeq: number, limit: number): Promise<LogPage>;
  deliver(event: LoggedRoomEvent): void;
  /**
   * A gap fill found the room's log in another epoch (its database was restored): the stream now stands at the
   * log's end in that epoch, and what the app shows of the room must be rebuilt from history.
   */
  onReset(roomId: string, position: ResumePosition): void;
  onFillError(roomId: string, error: unknown): void;
}

const FILL_PAGE = 100;
const FILL_RETRY_MS = 1000;

interface Stream {
  seq: number;
  /** null until a `ready`, membership or `resumed` event names it. */
  epoch: number | null;
}

/** Per-room positions: the client-side half of "no loss, no duplicates, no reordering", for every logged event. */
export function createRoomStreams(deps: RoomStreamsDeps): RoomStreams {
  const streams = new Map<string, Stream>();
  const pending = new Map<string, Map<number, LoggedRoomEvent>>();
  const filling = new Set<string>();

  function deliver(stream: Stream, event: LoggedRoomEvent): void {
    stream.seq = event.seq;
    deps.deliver(event);
  }

  function drain(roomId: string): void {
    const waiting = pending.get(roomId);
    const stream = streams.get(roomId);
    if (!waiting || !stream) return;
    for (;;) {
      const next = waiting.get(stream.seq + 1);
      if (!next) break;
      waiting.delete(next.seq);
      deliver(stream, next);
    }
    for (const seq of waiting.keys()) if (seq <= stream.seq) waiting.delete(seq);
    if (waiting.size === 0) pending.delete(roomId);
  }

  async function fill(roomId: string): Promise<void> {
    if (filling.has(roomId)) return;
    filling.add(roomId);
    try {
      while (pending.get(roomId)?.size) {
        const stream = streams.get(roomId);
        if (!stream) break;
        const page = await deps.fetchAfter(roomId, stream.seq, FILL_PAGE);
        if (streams.get(roomId) !== stream) break; // forgotten or reset meanwhile
        if (stream.epoch !== null && page.epoch !== stream.epoch) {
          // Not the stream these seqs were counted in: continuing would splice two histories together.
          pending.delete(roomId);
          const lastSeq = Math.max(0, ...page.events.map((event) => event.seq));
          streams.set(roomId, { seq: lastSeq, epoch: page.epoch });
          deps.onReset(roomId, { seq: lastSeq, epoch: page.epoch });
          break;
        }
        stream.epoch ??= page.epoch;
        for (const event of page.events) if (event.seq === stream.seq + 1) deliver(stream, event);
        drain(roomId);
        if (page.events.length === 0) break;
      }
    } catch (error) {
      deps.onFillError(roomId, error);
      setTimeout(() => void fill(roomId), FILL_RETRY_MS);
    } finally {
      filling.delete(roomId);
    }
  }

  return {
    accept(event) {
      const stream = streams.get(event.roomId);
      if (!stream) {
        // A room attached live before the client knew its position: nothing before this event is owed.
        const adopted: Stream = { seq: event.seq, epoch: null };
        streams.set(event.roomId, adopted);
        deps.deliver(event);
        return;
      }
      if (event.seq === stream.seq + 1) {
        deliver(stream, event);
        drain(event.roomId);
        return;
      }
      if (event.seq <= stream.seq) return; // already delivered
      let waiting = pending.get(event.roomId);
      if (!waiting) pending.set(event.roomId, (waiting = new Map()));
      waiting.set(event.seq, event);
      void fill(event.roomId);
    },
    position: (roomId) => streams.get(roomId)?.seq,
    positions() {
      const known: ResumePositions = {};
      for (const [roomId, stream] of streams) if (stream.epoch !== null) known[roomId] = { seq: stream.seq, epoch: stream.epoch };
      return known;
    },
    advance(roomId, seq, epoch) {
      const stream = streams.get(roomId);
      if (!stream || (epoch !== undefined && stream.epoch !== null && epoch !== stream.epoch)) {
        pending.delete(roomId);
        streams.set(roomId, { seq, epoch: epoch ?? null });
        return;
      }
      if (epoch !== undefined) stream.epoch = epoch;
      if (stream.seq < seq) stream.seq = seq;
      drain(roomId);
    },
    forget(roomId) {
      streams.delete(roomId);
      pending.delete(roomId);
    },
  };
}
