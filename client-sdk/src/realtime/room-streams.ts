import type { Message, RoomEvent } from "../../../src/contract.ts";

export type MessageCreated = Extract<RoomEvent, { type: "message.created" }>;

export interface RoomStreams {
  /** Delivers the message once and in seq order; a jump ahead first fetches what is missing from history. */
  accept(event: MessageCreated): void;
  /** The seq of the last message delivered for the room, if the room is known. */
  position(roomId: string): number | undefined;
  positions(): Record<string, number>;
  /** Adopts a position (from `ready`, a membership event, or history the app loaded) if it is further along. */
  advance(roomId: string, seq: number): void;
  forget(roomId: string): void;
}

export interface RoomStreamsDeps {
  /** Messages after `afterSeq`, ascending (messages.list with `after`). */
  fetchAfter(roomId: string, afterSeq: number, limit: number): Promise<Message[]>;
  deliver(event: MessageCreated): void;
  onFillError(roomId: string, error: unknown): void;
}

const FILL_PAGE = 100;
const FILL_RETRY_MS = 1000;

/** Per-room positions: the client-side half of "no loss, no duplicates, no reordering". */
export function createRoomStreams(deps: RoomStreamsDeps): RoomStreams {
  const positions = new Map<string, number>();
  const pending = new Map<string, Map<number, MessageCreated>>();
  const filling = new Set<string>();

  function drain(roomId: string): void {
    const waiting = pending.get(roomId);
    if (!waiting) return;
    for (;;) {
      const position = positions.get(roomId) ?? 0;
      const next = waiting.get(position + 1);
      if (!next) break;
      waiting.delete(position + 1);
      positions.set(roomId, position + 1);
      deps.deliver(next);
    }
    for (const seq of waiting.keys()) if (seq <= (positions.get(roomId) ?? 0)) waiting.delete(seq);
    if (waiting.size === 0) pending.delete(roomId);
  }

  async function fill(roomId: string): Promise<void> {
    if (filling.has(roomId)) return;
    filling.add(roomId);
    try {
      while (pending.get(roomId)?.size) {
        const position = positions.get(roomId) ?? 0;
        const messages = await deps.fetchAfter(roomId, position, FILL_PAGE);
        for (const message of messages) {
          if (message.seq !== (positions.get(roomId) ?? 0) + 1) continue;
          positions.set(roomId, message.seq);
          deps.deliver({ type: "message.created", roomId, seq: message.seq, message });
        }
        drain(roomId);
        if (messages.length === 0) break;
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
      const position = positions.get(event.roomId);
      if (position === undefined || event.seq === position + 1) {
        positions.set(event.roomId, event.seq);
        deps.deliver(event);
        drain(event.roomId);
        return;
      }
      if (event.seq <= position) return; // already delivered
      let waiting = pending.get(event.roomId);
      if (!waiting) pending.set(event.roomId, (waiting = new Map()));
      waiting.set(event.seq, event);
      void fill(event.roomId);
    },
    position: (roomId) => positions.get(roomId),
    positions: () => Object.fromEntries(positions),
    advance(roomId, seq) {
      if ((positions.get(roomId) ?? -1) < seq) positions.set(roomId, seq);
      drain(roomId);
    },
    forget(roomId) {
      positions.delete(roomId);
      pending.delete(roomId);
    },
  };
}
