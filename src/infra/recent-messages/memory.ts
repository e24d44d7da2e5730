import type { Message } from "../../domain/messages/messages.schema.ts";
import type { Clock } from "../../lib/clock.ts";
import { coveredRange, RECENT_MESSAGES_IDLE_SECONDS, RECENT_MESSAGES_PER_ROOM, type RecentMessages } from "./recent-messages.ts";

interface RoomCache {
  /** Ascending by seq, each seq once. */
  messages: Message[];
  writtenAt: number;
}

/**
 * Process-local recent messages, for a single instance without Redis. Bounded twice: per room (its newest
 * `perRoom`), and in total (`maxMessages`, dropping the rooms written to longest ago), so many quiet rooms
 * cannot grow the heap without limit. Idle rooms are dropped lazily.
 */
export function createMemoryRecentMessages(options: {
  clock: Clock;
  perRoom?: number;
  idleSeconds?: number;
  maxMessages?: number;
}): RecentMessages {
  const perRoom = options.perRoom ?? RECENT_MESSAGES_PER_ROOM;
  const idleMs = (options.idleSeconds ?? RECENT_MESSAGES_IDLE_SECONDS) * 1000;
  const maxMessages = Math.max(options.maxMessages ?? 100_000, perRoom);
  // Map order is write order (a room is re-inserted on every write): the first entries are the stalest.
  const rooms = new Map<string, RoomCache>();
  let total = 0;

  const now = (): number => options.clock.now().getTime();
  const idle = (room: RoomCache): boolean => room.writtenAt + idleMs <= now();

  function drop(roomId: string, room: RoomCache): void {
    rooms.delete(roomId);
    total -= room.messages.length;
  }

  function live(roomId: string): RoomCache | null {
    const room = rooms.get(roomId);
    if (!room) return null;
    if (!idle(room)) return room;
    drop(roomId, room);
    return null;
  }

  function insert(room: RoomCache, message: Message): void {
    const at = firstAfter(room.messages, message.seq - 1);
    if (room.messages[at]?.seq === message.seq) return; // already held
    room.messages.splice(at, 0, message); // almost always at the end: messages arrive in seq order
    total += 1;
  }

  function evictStalest(): void {
    for (const [roomId, room] of rooms) {
      if (total <= maxMessages && !idle(room)) return;
      drop(roomId, room);
    }
  }

  return {
    async append(messages) {
      for (const message of messages) {
        const room = live(message.roomId) ?? { messages: [], writtenAt: 0 };
        rooms.delete(message.roomId);
        rooms.set(message.roomId, room);
        room.writtenAt = now();
        insert(room, message);
        const excess = room.messages.length - perRoom;
        if (excess > 0) {
          room.messages.splice(0, excess);
          total -= excess;
        }
      }
      evictStalest();
    },
    async range(roomId, afterSeq, throughSeq) {
      if (throughSeq <= afterSeq) return [];
      const room = live(roomId);
      if (!room) return null;
      const start = firstAfter(room.messages, afterSeq);
      return coveredRange(room.messages.slice(start, start + (throughSeq - afterSeq)), afterSeq, throughSeq);
    },
    async close() {
      rooms.clear();
      total = 0;
    },
  };
}

/** Index of the first message with seq > `seq` (binary search over the ascending list). */
function firstAfter(messages: readonly Message[], seq: number): number {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((messages[mid]?.seq ?? Infinity) > seq) high = mid;
    else low = mid + 1;
  }
  return low;
}
