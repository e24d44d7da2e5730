import type { Message } from "../../domain/messages/messages.schema.ts";

/**
 * A bounded cache of each room's newest committed messages, in front of Postgres for resume and gap filling:
 * Redis when configured (shared by every instance), memory otherwise. Never the truth — only committed messages
 * are appended, and a range is answered only when the cache holds every message in it.
 */
export interface RecentMessages {
  /**
   * Records committed messages (any rooms, any order; appending one twice is harmless). Each room keeps only its
   * newest messages, and a room nobody writes to is forgotten after a while.
   */
  append(messages: readonly Message[]): Promise<void>;
  /**
   * The room's messages with afterSeq < seq ≤ throughSeq, ascending — but only when the cache holds every one of
   * them; otherwise null (a miss), never a partial answer that would look like a gap. Empty when throughSeq ≤ afterSeq.
   */
  range(roomId: string, afterSeq: number, throughSeq: number): Promise<Message[] | null>;
  close(): Promise<void>;
}

/** Defaults for both implementations: RESUME_MAX_MESSAGES (1000 by default) can be answered from the cache. */
export const RECENT_MESSAGES_PER_ROOM = 1000;
/** A room idle this long drops out of the cache; its history is still in Postgres. */
export const RECENT_MESSAGES_IDLE_SECONDS = 24 * 3600;

/** The contiguity rule both implementations apply: exactly afterSeq+1 … throughSeq, each once, or a miss. */
export function coveredRange(held: readonly Message[], afterSeq: number, throughSeq: number): Message[] | null {
  if (held.length !== throughSeq - afterSeq) return null;
  for (let i = 0; i < held.length; i++) if (held[i]?.seq !== afterSeq + 1 + i) return null;
  return [...held];
}
