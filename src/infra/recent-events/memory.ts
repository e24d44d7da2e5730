import type { Clock } from "../../lib/clock.ts";
import { coveredRange, type EventFrame, RECENT_EVENTS_IDLE_SECONDS, RECENT_EVENTS_PER_ROOM, type RecentEvents } from "./recent-events.ts";

interface RoomCache {
  /** Ascending by seq, each seq once. */
  events: EventFrame[];
  writtenAt: number;
}

/**
 * Process-local recent events, for a single instance without Redis. Bounded twice: per room (its newest
 * `perRoom`), and in total (`maxEvents`, dropping the rooms written to longest ago), so many quiet rooms cannot
 * grow the heap without limit. Idle rooms are dropped lazily.
 */
export function createMemoryRecentEvents(options: { clock: Clock; perRoom?: number; idleSeconds?: number; maxEvents?: number }): RecentEvents {
  const perRoom = options.perRoom ?? RECENT_EVENTS_PER_ROOM;
  const idleMs = (options.idleSeconds ?? RECENT_EVENTS_IDLE_SECONDS) * 1000;
  const maxEvents = Math.max(options.maxEvents ?? 100_000, perRoom);
  // Map order is write order (a room is re-inserted on every write): the first entries are the stalest.
  const rooms = new Map<string, RoomCache>();
  let total = 0;

  const now = (): number => options.clock.now().getTime();
  const idle = (room: RoomCache): boolean => room.writtenAt + idleMs <= now();

  function drop(roomId: string, room: RoomCache): void {
    rooms.delete(roomId);
    total -= room.events.length;
  }

  function live(roomId: string): RoomCache | null {
    const room = rooms.get(roomId);
    if (!room) return null;
    if (!idle(room)) return room;
    drop(roomId, room);
    return null;
  }

  function insert(room: RoomCache, event: EventFrame): void {
    const at = firstAfter(room.events, event.seq - 1);
    if (room.events[at]?.seq === event.seq) return; // already held
    room.events.splice(at, 0, event); // almost always at the end: events arrive in seq order
    total += 1;
  }

  function evictStalest(): void {
    for (const [roomId, room] of rooms) {
      if (total <= maxEvents && !idle(room)) return;
      drop(roomId, room);
    }
  }

  return {
    async append(events) {
      for (const event of events) {
        const room = live(event.roomId) ?? { events: [], writtenAt: 0 };
        rooms.delete(event.roomId);
        rooms.set(event.roomId, room);
        room.writtenAt = now();
        insert(room, event);
        const excess = room.events.length - perRoom;
        if (excess > 0) {
          room.events.splice(0, excess);
          total -= excess;
        }
      }
      evictStalest();
    },
    async range(roomId, afterSeq, throughSeq) {
      if (throughSeq <= afterSeq) return [];
      const room = live(roomId);
      if (!room) return null;
      const start = firstAfter(room.events, afterSeq);
      return coveredRange(room.events.slice(start, start + (throughSeq - afterSeq)), afterSeq, throughSeq);
    },
    async forget(roomId) {
      const room = rooms.get(roomId);
      if (room) drop(roomId, room);
    },
    async close() {
      rooms.clear();
      total = 0;
    },
  };
}

/** Index of the first event with seq > `seq` (binary search over the ascending list). */
function firstAfter(events: readonly EventFrame[], seq: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((events[mid]?.seq ?? Infinity) > seq) high = mid;
    else low = mid + 1;
  }
  return low;
}
