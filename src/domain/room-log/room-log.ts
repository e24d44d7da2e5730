import { eq, inArray, sql } from "drizzle-orm";
import type { Database, Db } from "../../infra/db/database.ts";
import { roomEvents, rooms } from "../../infra/db/schema.ts";
import type { EventFrame, RecentEvents } from "../../infra/recent-events/recent-events.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher, LoggedRoomEvent } from "../events.ts";
import { findMemberRoom } from "../rooms/room-access.ts";
import { type EventDraft, readLoggedEvents } from "./event-rows.ts";
import type { RoomEventPage, RoomEventsInput } from "./room-log.schema.ts";

/** A room's stream position: the seq of its newest event, and the epoch those seqs belong to. */
export interface StreamPosition {
  lastSeq: number;
  epoch: number;
}

/**
 * Each room's log of events (room_events): the one place seqs are taken for anything but a send (sends are taken
 * by the group commit, message-commits.ts, in the same way), and where history is read back for resume, gap fills
 * and paging.
 */
export interface RoomLog {
  /**
   * Appends events to the room's log inside `tx`, taking its next seqs (the room's row is locked by the update,
   * if the caller did not lock it already); resolves with their seqs, in order. Announce them after the commit.
   */
  append(tx: Db, roomId: string, drafts: readonly EventDraft[]): Promise<number[]>;
  /**
   * After the commit: publishes each event to its room (in the order given, which must be seq order per room) and
   * caches its frame. Never fails the caller: the events are committed, and subscribers fill gaps from the log.
   */
  announce(events: readonly LoggedRoomEvent[]): Promise<void>;
  /** Frames with afterSeq < seq ≤ throughSeq, ascending, at most `limit`: the cache when it holds them all, else Postgres. */
  range(roomId: string, afterSeq: number, throughSeq: number, limit: number): Promise<EventFrame[]>;
  /** The room's position (0 and its epoch for a room without events; null for no such room). */
  position(roomId: string): Promise<StreamPosition | null>;
  /** The positions of the given rooms, in one read (rooms that do not exist are left out). */
  positions(roomIds: readonly string[]): Promise<Map<string, StreamPosition>>;
  /**
   * Drops the room's cached frames: they may show what was just deleted. Replays read Postgres (where the content
   * is gone) until new events refill the cache. Never fails the caller: a cache that cannot be reached cannot serve.
   */
  forget(roomId: string): Promise<void>;
  /** `rooms.events`: a member pages the log after a seq (FORBIDDEN for anyone else). */
  page(userId: string, input: RoomEventsInput): Promise<RoomEventPage>;
}

export interface RoomLogDeps {
  database: Database;
  events: EventPublisher;
  recentEvents: RecentEvents;
  logger: Logger;
}

/** The one serialization of a logged event: what the bus, the cache and sockets carry. */
export function frameOf(event: LoggedRoomEvent): EventFrame {
  return { roomId: event.roomId, seq: event.seq, frame: JSON.stringify(event) };
}

export function createRoomLog(deps: RoomLogDeps): RoomLog {
  const { db } = deps.database;

  async function cached(roomId: string, afterSeq: number, throughSeq: number): Promise<EventFrame[] | null> {
    try {
      return await deps.recentEvents.range(roomId, afterSeq, throughSeq);
    } catch (error) {
      deps.logger.warn("recent events unreadable; reading Postgres", { roomId, error });
      return null;
    }
  }

  return {
    async append(tx, roomId, drafts) {
      if (drafts.length === 0) return [];
      const [bumped] = await tx
        .update(rooms)
        .set({ lastSeq: sql`${rooms.lastSeq} + ${drafts.length}` })
        .where(eq(rooms.id, roomId))
        .returning({ lastSeq: rooms.lastSeq });
      if (!bumped) throw new Error(`no room ${roomId} to append events to`);
      const first = bumped.lastSeq - drafts.length + 1;
      const seqs = drafts.map((_, index) => first + index);
      await tx.insert(roomEvents).values(
        drafts.map((draft, index) => ({
          roomId,
          seq: seqs[index] as number,
          type: draft.type,
          actorId: draft.actorId,
          messageId: draft.messageId ?? null,
          data: draft.data,
        })),
      );
      return seqs;
    },

    async announce(events) {
      // Issued together but in order: the bus hands a connection's publishes over in the order they were made.
      const publish = events.map(async (event) => {
        try {
          await deps.events.toRoom(event.roomId, event);
        } catch (error) {
          // Committed is delivered: Postgres is the truth and subscribers fill seq gaps from it.
          deps.logger.error("room event not published", { roomId: event.roomId, seq: event.seq, type: event.type, error });
        }
      });
      const cache = deps.recentEvents.append(events.map(frameOf)).catch((error: unknown) => {
        // A missing event is a hole the cache reports as a miss: readers go to Postgres for that range.
        deps.logger.warn("recent events not cached", { events: events.length, error });
      });
      await Promise.all([...publish, cache]);
    },

    async forget(roomId) {
      try {
        await deps.recentEvents.forget(roomId);
      } catch (error) {
        deps.logger.error("recent events not forgotten: a deleted message may be replayed from the cache", { roomId, error });
      }
    },

    async range(roomId, afterSeq, throughSeq, limit) {
      const hit = await cached(roomId, afterSeq, Math.min(throughSeq, afterSeq + limit));
      if (hit) return hit;
      return (await readLoggedEvents(db, roomId, afterSeq, throughSeq, limit)).map(frameOf);
    },

    async position(roomId) {
      const [room] = await db.select({ lastSeq: rooms.lastSeq, epoch: rooms.epoch }).from(rooms).where(eq(rooms.id, roomId));
      return room ?? null;
    },

    async positions(roomIds) {
      if (roomIds.length === 0) return new Map();
      const rows = await db
        .select({ id: rooms.id, lastSeq: rooms.lastSeq, epoch: rooms.epoch })
        .from(rooms)
        .where(inArray(rooms.id, [...roomIds]));
      return new Map(rows.map((row) => [row.id, { lastSeq: row.lastSeq, epoch: row.epoch }]));
    },

    async page(userId, input) {
      const { room, visibleFrom } = await findMemberRoom(db, userId, input.roomId);
      const through = room.lastSeq;
      // A "sinceJoin" reader's log starts at their own member.joined.
      const after = Math.max(input.after, visibleFrom - 1);
      const events = await readLoggedEvents(db, input.roomId, after, through, input.limit);
      const last = events.at(-1)?.seq ?? after;
      return { events, lastSeq: through, epoch: room.epoch, hasMore: last < through };
    },
  };
}
