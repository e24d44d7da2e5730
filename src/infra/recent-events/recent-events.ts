/** One logged room event as the bus and sockets carry it: its seq, and its frame (the event's JSON). */
export interface EventFrame {
  roomId: string;
  seq: number;
  frame: string;
}

/**
 * A bounded cache of each room's newest logged events (as frames), in front of Postgres for resume and gap filling:
 * Redis when configured (shared by every instance), memory otherwise. Never the truth — only committed events are
 * appended, and a range is answered only when the cache holds every event in it.
 */
export interface RecentEvents {
  /**
   * Records committed events (any rooms, any order; appending one twice is harmless). Each room keeps only its
   * newest events, and a room nobody writes to is forgotten after a while.
   */
  append(events: readonly EventFrame[]): Promise<void>;
  /**
   * The room's frames with afterSeq < seq ≤ throughSeq, ascending — but only when the cache holds every one of them;
   * otherwise null (a miss), never a partial answer that would look like a gap. Empty when throughSeq ≤ afterSeq.
   */
  range(roomId: string, afterSeq: number, throughSeq: number): Promise<EventFrame[] | null>;
  /**
   * Drops everything held for the room: its cached frames show content that must not be shown any more (a deleted
   * message). Reads go to Postgres until new events refill it.
   */
  forget(roomId: string): Promise<void>;
  close(): Promise<void>;
}

/** Defaults for both implementations: RESUME_MAX_MESSAGES (1000 by default) can be answered from the cache. */
export const RECENT_EVENTS_PER_ROOM = 1000;
/** A room idle this long drops out of the cache; its history is still in Postgres. */
export const RECENT_EVENTS_IDLE_SECONDS = 24 * 3600;

/** The contiguity rule both implementations apply: exactly afterSeq+1 … throughSeq, each once, or a miss. */
export function coveredRange(held: readonly EventFrame[], afterSeq: number, throughSeq: number): EventFrame[] | null {
  if (held.length !== throughSeq - afterSeq) return null;
  for (let i = 0; i < held.length; i++) if (held[i]?.seq !== afterSeq + 1 + i) return null;
  return [...held];
}
