import { and, eq, ne, type SQL, sql } from "drizzle-orm";
import type { BucketRule } from "../../config.ts";
import type { Database } from "../../infra/db/database.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import { roomMembers, rooms } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher, RoomEvent, UserEvent } from "../events.ts";
import type { UserPublic } from "../users/users.schema.ts";
import { requireCapacity, type RoomCapacity } from "./room-capacity.ts";
import {
  findMemberRoom,
  findRoomForUser,
  findUser,
  notAMember,
  refuseDirect,
  requireManager,
  roomColumns,
  toRoom,
} from "./room-access.ts";
import type { CreateRoomInput, MemberRole, Room, UpdateRoomInput } from "./rooms.schema.ts";

/** Everything that changes who is in a room, or what the room is. Each publishes its events after its commit. */
export interface RoomMembershipChanges {
  create(userId: string, input: CreateRoomInput): Promise<Room>;
  openDirect(userId: string, otherUserId: string): Promise<Room>;
  join(userId: string, roomId: string): Promise<Room>;
  invite(userId: string, input: { roomId: string; userId: string }): Promise<void>;
  leave(userId: string, roomId: string): Promise<void>;
  kick(userId: string, input: { roomId: string; userId: string }): Promise<void>;
  update(userId: string, input: UpdateRoomInput): Promise<Room>;
}

type Announcement = { toRoom: RoomEvent } | { toUser: string; event: UserEvent };

export function createRoomMembershipChanges(deps: {
  database: Database;
  events: EventPublisher;
  logger: Logger;
  rateLimiter: RateLimiter;
  rates: { create: BucketRule; invite: BucketRule; openDirect: BucketRule };
  limits: RoomCapacity;
}): RoomMembershipChanges {
  const { db } = deps.database;

  /** Creating rooms and adding people to them are cheap to ask for and costly to undo: each has a per-user rate. */
  async function enforceRate(action: "create" | "invite" | "openDirect", userId: string): Promise<void> {
    const decision = await deps.rateLimiter.consume(`rooms-${action}:${userId}`, deps.rates[action]);
    if (!decision.allowed) {
      throw new DomainError("TOO_MANY_REQUESTS", "too many rooms created or people added; try again later", decision.retryAfterSeconds);
    }
  }

  /**
   * Publishes after the commit. The change is already true in Postgres, so a failed publish does not fail the
   * call; it is logged as an error (sockets that missed it reconcile on their next resume).
   */
  async function announce(announcements: Announcement[]): Promise<void> {
    const results = await Promise.allSettled(
      announcements.map(async (announcement) =>
        "toRoom" in announcement
          ? deps.events.toRoom(announcement.toRoom.roomId, announcement.toRoom)
          : deps.events.toUser(announcement.toUser, announcement.event),
      ),
    );
    results.forEach((result, index) => {
      if (result.status === "fulfilled") return;
      const announcement = announcements[index];
      const event = announcement && ("toRoom" in announcement ? announcement.toRoom : announcement.event);
      deps.logger.error("room event not published", { type: event?.type, roomId: event?.roomId, error: result.reason });
    });
  }

  function joined(room: Room, user: UserPublic, role: MemberRole): Announcement[] {
    return [
      { toRoom: { type: "member.joined", roomId: room.id, member: { user, role } } },
      { toUser: user.id, event: { type: "room.membership", roomId: room.id, membership: "joined", room } },
    ];
  }

  function departed(room: Room, userId: string, reason: "left" | "removed"): Announcement[] {
    return [
      { toRoom: { type: "member.left", roomId: room.id, userId, reason } },
      { toUser: userId, event: { type: "room.membership", roomId: room.id, membership: reason, room } },
    ];
  }

  async function findDirectRoom(directKey: string): Promise<Room | null> {
    const [row] = await db.select(roomColumns).from(rooms).where(eq(rooms.directKey, directKey));
    return row ? toRoom(row) : null;
  }

  /** History from before joining is neither delivered to nor unread by a new member: their watermarks start at the end. */
  function watermarksAtJoin(roomId: string): { lastReadSeq: SQL<number>; lastDeliveredSeq: SQL<number> } {
    const lastSeq = sql<number>`(select ${rooms.lastSeq} from ${rooms} where ${rooms.id} = ${roomId})`;
    return { lastReadSeq: lastSeq, lastDeliveredSeq: lastSeq };
  }

  /**
   * Adds the user as a plain member, under the room's lock and within both caps; null when they already were one
   * (so nothing is announced twice). FORBIDDEN (not a member) if the room vanished meanwhile.
   */
  async function addMember(roomId: string, user: UserPublic): Promise<Announcement[] | null> {
    const room = await db.transaction(async (tx) => {
      const found = await findRoomForUser(tx, user.id, roomId, { lock: "room" });
      if (!found) throw notAMember();
      if (found.role !== null) return null;
      await requireCapacity(tx, deps.limits, { roomId, userIds: [user.id] });
      await tx.insert(roomMembers).values({ roomId, userId: user.id, role: "member", ...watermarksAtJoin(roomId) });
      return found.room;
    });
    return room ? joined(room, user, "member") : null;
  }

  return {
    async create(userId, input) {
      await enforceRate("create", userId);
      const room = await db.transaction(async (tx) => {
        await requireCapacity(tx, deps.limits, { roomId: null, userIds: [userId] });
        const [row] = await tx
          .insert(rooms)
          .values({ kind: input.kind, name: input.name, description: input.description ?? "", createdBy: userId })
          .returning(roomColumns);
        if (!row) throw new Error("room insert returned nothing");
        await tx.insert(roomMembers).values({ roomId: row.id, userId, role: "owner" });
        return toRoom(row);
      });
      // Nobody listens on the new room's topic yet; the creator's sockets must attach to it.
      await announce([{ toUser: userId, event: { type: "room.membership", roomId: room.id, membership: "joined", room } }]);
      return room;
    },

    async openDirect(userId, otherUserId) {
      if (userId === otherUserId) throw new DomainError("BAD_REQUEST", "you cannot open a direct room with yourself");
      await findUser(db, otherUserId);
      const directKey = [userId, otherUserId].sort().join(":");
      const existing = await findDirectRoom(directKey);
      if (existing) return existing;
      // Only opening a new conversation is charged: going back to an existing one is free.
      await enforceRate("openDirect", userId);
      const created = await db.transaction(async (tx) => {
        await requireCapacity(tx, deps.limits, { roomId: null, userIds: [userId, otherUserId] });
        // A concurrent openDirect for the same pair waits on the unique direct_key, then inserts nothing.
        const [row] = await tx
          .insert(rooms)
          .values({ kind: "direct", name: "", directKey, createdBy: userId })
          .onConflictDoNothing({ target: rooms.directKey })
          .returning(roomColumns);
        if (!row) return null;
        await tx.insert(roomMembers).values([
          { roomId: row.id, userId, role: "member" },
          { roomId: row.id, userId: otherUserId, role: "member" },
        ]);
        return toRoom(row);
      });
      if (!created) {
        const winner = await findDirectRoom(directKey);
        if (!winner) throw new Error("direct room vanished after a conflicting insert");
        return winner;
      }
      await announce(
        [userId, otherUserId].map((id) => ({
          toUser: id,
          event: { type: "room.membership", roomId: created.id, membership: "joined", room: created } as const,
        })),
      );
      return created;
    },

    async join(userId, roomId) {
      const found = await findRoomForUser(db, userId, roomId);
      if (!found) throw notAMember();
      if (found.role !== null) return found.room;
      if (found.room.kind !== "public") throw notAMember();
      const announcements = await addMember(roomId, await findUser(db, userId));
      if (announcements) await announce(announcements);
      return found.room;
    },

    async invite(userId, input) {
      const { room, role } = await findMemberRoom(db, userId, input.roomId);
      refuseDirect(room, "have members invited");
      requireManager(role, "invite");
      await enforceRate("invite", userId);
      const announcements = await addMember(room.id, await findUser(db, input.userId));
      if (announcements) await announce(announcements);
    },

    async leave(userId, roomId) {
      const room = await db.transaction(async (tx) => {
        const { room, role } = await findMemberRoom(tx, userId, roomId, { lock: "room" });
        refuseDirect(room, "be left");
        if (role === "owner") {
          const [others] = await tx
            .select({
              members: sql<number>`count(*)`.mapWith(Number),
              owners: sql<number>`count(*) filter (where ${roomMembers.role} = 'owner')`.mapWith(Number),
            })
            .from(roomMembers)
            .where(and(eq(roomMembers.roomId, roomId), ne(roomMembers.userId, userId)));
          if (others && others.owners === 0 && others.members > 0) {
            throw new DomainError("CONFLICT", "you are the last owner: make another member owner before leaving");
          }
        }
        await tx.delete(roomMembers).where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
        return room;
      });
      await announce(departed(room, userId, "left"));
    },

    async kick(userId, input) {
      const room = await db.transaction(async (tx) => {
        const { room, role } = await findMemberRoom(tx, userId, input.roomId, { lock: "room" });
        refuseDirect(room, "have members removed");
        requireManager(role, "remove members");
        if (input.userId === userId) throw new DomainError("BAD_REQUEST", "use rooms.leave to leave a room");
        const [target] = await tx
          .select({ role: roomMembers.role })
          .from(roomMembers)
          .where(and(eq(roomMembers.roomId, input.roomId), eq(roomMembers.userId, input.userId)));
        if (!target) throw new DomainError("NOT_FOUND", "that user is not a member of this room");
        if (target.role === "owner" && role !== "owner") throw new DomainError("FORBIDDEN", "admins cannot remove owners");
        await tx
          .delete(roomMembers)
          .where(and(eq(roomMembers.roomId, input.roomId), eq(roomMembers.userId, input.userId)));
        return room;
      });
      await announce(departed(room, input.userId, "removed"));
    },

    async update(userId, input) {
      const { room, role } = await findMemberRoom(db, userId, input.roomId);
      refuseDirect(room, "be renamed");
      requireManager(role, "update the room");
      if (input.name === undefined && input.description === undefined) return room;
      const [row] = await db
        .update(rooms)
        .set({
          ...(input.name !== undefined && { name: input.name }),
          ...(input.description !== undefined && { description: input.description }),
        })
        .where(eq(rooms.id, input.roomId))
        .returning(roomColumns);
      if (!row) throw notAMember(); // deleted in between
      const updated = toRoom(row);
      await announce([{ toRoom: { type: "room.updated", roomId: updated.id, room: updated } }]);
      return updated;
    },
  };
}
