import { and, asc, desc, eq, gt, ilike, inArray, isNull, lte, ne, or, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Database } from "../../infra/db/database.ts";
import { type BatchLoader, createBatchLoader } from "../../lib/batch-loader.ts";
import { messages, roomMembers, rooms, users } from "../../infra/db/schema.ts";
import { findMessagesByIds } from "../messages/message-rows.ts";
import { likePattern } from "../users/like-pattern.ts";
import { encodeCursor } from "./page-cursor.ts";
import { unreadCount, unreadMentionsCount } from "./unread.ts";
import { findMemberRoom, findRoomForUser, historyStart, notAMember, roomColumns, toRoom } from "./room-access.ts";
import { presentRoom, presentRooms } from "./room-groups.ts";
import type { DiscoverRoomsInput, MemberRole, MembersInput, MyRoom, Page, Room, RoomMember } from "./rooms.schema.ts";

/** Everything that reads rooms and their members; nothing here writes. */
export interface RoomListing {
  list(userId: string): Promise<MyRoom[]>;
  discover(userId: string, input: DiscoverRoomsInput): Promise<Page<Room>>;
  get(userId: string, roomId: string): Promise<Room>;
  members(userId: string, input: MembersInput): Promise<Page<RoomMember>>;
  requireMember(userId: string, roomId: string): Promise<MemberRole>;
  roomIdsOf(userId: string, options?: { atMostMembers?: number }): Promise<string[]>;
  historyStarts(userId: string, roomIds: readonly string[]): Promise<Map<string, number>>;
}

const peerMembers = alias(roomMembers, "peer_members");
const peerUsers = alias(users, "peer_users");

/** Rows past the page size tell whether another page exists. */
function toPage<Row, Item>(rows: Row[], limit: number, item: (row: Row) => Item, key: (row: Row) => [string, string]): Page<Item> {
  const last = rows.length > limit ? rows[limit - 1] : undefined;
  return { items: rows.slice(0, limit).map(item), nextCursor: last ? encodeCursor(key(last)) : null };
}

/** Users whose rooms one query reads, when many sockets connect at once. */
const ROOM_IDS_BATCH = 500;

export function createRoomListing(deps: { database: Database }): RoomListing {
  const { db } = deps.database;

  // Every socket reads its user's rooms as it starts: in a connect burst those reads are coalesced (batch-loader.ts).
  const roomIdsLoaders = new Map<number | null, BatchLoader<string, string[]>>();
  const roomIdsLoader = (atMostMembers: number | null): BatchLoader<string, string[]> => {
    let loader = roomIdsLoaders.get(atMostMembers);
    if (!loader) {
      loader = createBatchLoader({
        maxBatch: ROOM_IDS_BATCH,
        missing: [],
        loadMany: async (userIds) => {
          const rows = await db
            .select({ userId: roomMembers.userId, roomId: roomMembers.roomId })
            .from(roomMembers)
            .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
            .where(and(inArray(roomMembers.userId, userIds), atMostMembers === null ? undefined : lte(rooms.memberCount, atMostMembers)));
          const byUser = new Map<string, string[]>();
          for (const row of rows) {
            const ids = byUser.get(row.userId);
            if (ids) ids.push(row.roomId);
            else byUser.set(row.userId, [row.roomId]);
          }
          return byUser;
        },
      });
      roomIdsLoaders.set(atMostMembers, loader);
    }
    return loader;
  };
  // Sockets resuming after a deploy ask this all at once, like roomIdsOf: coalesced the same way.
  const historyStartsLoader = createBatchLoader<string, [string, number][]>({
    maxBatch: ROOM_IDS_BATCH,
    missing: [],
    loadMany: async (userIds) => {
      const rows = await db
        .select({ userId: roomMembers.userId, roomId: roomMembers.roomId, joinedSeq: roomMembers.joinedSeq })
        .from(roomMembers)
        .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
        .where(and(inArray(roomMembers.userId, userIds), eq(rooms.historyVisibility, "sinceJoin"), sql`${roomMembers.joinedSeq} > 0`));
      const byUser = new Map<string, [string, number][]>();
      for (const row of rows) {
        const starts = byUser.get(row.userId);
        if (starts) starts.push([row.roomId, row.joinedSeq]);
        else byUser.set(row.userId, [[row.roomId, row.joinedSeq]]);
      }
      return byUser;
    },
  });
  return {
    async historyStarts(userId, roomIds) {
      if (roomIds.length === 0) return new Map();
      const wanted = new Set(roomIds);
      const starts = await historyStartsLoader.load(userId);
      return new Map(starts.filter(([roomId]) => wanted.has(roomId)));
    },

    async list(userId) {
      // One query: each room with the caller's role, its newest main-timeline message, unread, and for direct
      // rooms the peer.
      const rows = await db
        .select({
          room: roomColumns,
          role: roomMembers.role,
          lastMessageId: messages.id,
          peer: { id: peerUsers.id, username: peerUsers.username, displayName: peerUsers.displayName },
          readSeq: roomMembers.lastReadSeq,
          deliveredSeq: roomMembers.lastDeliveredSeq,
          lastMessageSeq: messages.seq,
          joinedSeq: roomMembers.joinedSeq,
          unread: unreadCount(userId, roomMembers.lastReadSeq),
          unreadMentions: unreadMentionsCount(userId, roomMembers.lastReadSeq),
        })
        .from(roomMembers)
        .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
        .leftJoin(messages, and(eq(messages.roomId, rooms.id), eq(messages.mainOrdinal, rooms.mainCount)))
        .leftJoin(
          peerMembers,
          and(eq(rooms.kind, "direct"), eq(peerMembers.roomId, rooms.id), ne(peerMembers.userId, userId)),
        )
        .leftJoin(peerUsers, eq(peerUsers.id, peerMembers.userId))
        // A direct room I hid comes back with the first main-timeline message after I hid it.
        .where(and(eq(roomMembers.userId, userId), or(isNull(roomMembers.hiddenSeq), gt(messages.seq, roomMembers.hiddenSeq))))
        .orderBy(desc(rooms.updatedAt), desc(rooms.id));
      // The last messages whole (quotes, reactions as I see them), in a second read by id.
      // Not one from before my join in a "sinceJoin" room: that history is not mine to read.
      const visible = (row: (typeof rows)[number]): boolean =>
        row.lastMessageSeq !== null && row.lastMessageSeq >= historyStart(toRoom(row.room), row.joinedSeq);
      const lastIds = rows.flatMap((row) => (row.lastMessageId && visible(row) ? [row.lastMessageId] : []));
      const lastMessages = new Map((await findMessagesByIds(db, lastIds, userId)).map((message) => [message.id, message]));
      const listed = rows.map((row) => ({
        ...toRoom(row.room),
        role: row.role,
        lastMessage: row.lastMessageId ? (lastMessages.get(row.lastMessageId) ?? null) : null,
        peer: row.peer,
        readSeq: row.readSeq,
        deliveredSeq: row.deliveredSeq,
        unread: row.unread,
        unreadMentions: row.unreadMentions,
      }));
      return presentRooms(db, userId, listed);
    },

    async discover(_userId, input) {
      const after = input.cursor ?? null;
      const query = input.query?.trim();
      const rows = await db
        .select(roomColumns)
        .from(rooms)
        .where(
          and(
            eq(rooms.kind, "public"),
            query ? ilike(rooms.name, likePattern(query, "contains")) : undefined,
            after ? sql`(${rooms.name}, ${rooms.id}) > (${after[0]}::text, ${after[1]}::uuid)` : undefined,
          ),
        )
        .orderBy(asc(rooms.name), asc(rooms.id))
        .limit(input.limit + 1);
      return toPage(rows, input.limit, toRoom, (row) => [row.name, row.id]);
    },

    async get(userId, roomId) {
      const found = await findRoomForUser(db, userId, roomId);
      if (!found || (found.role === null && found.room.kind !== "public")) throw notAMember();
      return presentRoom(db, userId, found.room);
    },

    async members(userId, input) {
      await findMemberRoom(db, userId, input.roomId);
      // The cursor keeps joined_at as Postgres prints it: a JS Date would drop the microseconds and repeat rows.
      const after = input.cursor ?? null;
      const rows = await db
        .select({
          user: { id: users.id, username: users.username, displayName: users.displayName },
          role: roomMembers.role,
          joinedAt: roomMembers.joinedAt,
          joinedAtKey: sql<string>`${roomMembers.joinedAt}::text`,
        })
        .from(roomMembers)
        .innerJoin(users, eq(users.id, roomMembers.userId))
        .where(
          and(
            eq(roomMembers.roomId, input.roomId),
            after
              ? sql`(${roomMembers.joinedAt}, ${roomMembers.userId}) > (${after[0]}::timestamptz, ${after[1]}::uuid)`
              : undefined,
          ),
        )
        .orderBy(asc(roomMembers.joinedAt), asc(roomMembers.userId))
        .limit(input.limit + 1);
      return toPage(
        rows,
        input.limit,
        (row) => ({ user: row.user, role: row.role, joinedAt: row.joinedAt.toISOString() }),
        (row) => [row.joinedAtKey, row.user.id],
      );
    },

    async requireMember(userId, roomId) {
      const [member] = await db
        .select({ role: roomMembers.role })
        .from(roomMembers)
        .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
      if (!member) throw notAMember();
      return member.role;
    },

    roomIdsOf(userId, options = {}) {
      // A copy: callers of one batch (sockets of one user) must not share a mutable array.
      return roomIdsLoader(options.atMostMembers ?? null).load(userId).then((ids) => [...ids]);
    },
  };
}
