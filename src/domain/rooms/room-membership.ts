import { and, eq, ne, sql } from "drizzle-orm";
import type { BucketRule } from "../../config.ts";
import type { Database, Db } from "../../infra/db/database.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import { files, roomMembers, rooms } from "../../infra/db/schema.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { disposeFiles } from "../files/file-disposal.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher, LoggedRoomEvent, UserEvent } from "../events.ts";
import { requireAvatarFile, retireAvatarFile } from "../files/avatars.ts";
import type { RoomLog } from "../room-log/room-log.ts";
import type { UserPublic } from "../users/users.schema.ts";
import { recordAudit, settingsChanges } from "./room-audit.ts";
import { requireNotBanned } from "./room-bans.ts";
import { enforceModerationRate } from "./room-moderation.ts";
import { requireCapacity, type RoomCapacity } from "./room-capacity.ts";
import { createDirectRooms, type DirectRooms, hideDirectRoom } from "./direct-rooms.ts";
import { requireOutranks, requirePermission } from "./permissions.ts";
import {
  findMemberRoom,
  findRoomForUser,
  findUser,
  notAMember,
  refuseDirect,
  requireTargetRole,
  type RoomForUser,
  roomColumns,
  toRoom,
} from "./room-access.ts";
import { createRoomGroups, type RoomGroups } from "./room-groups.ts";
import { createRoomInvitations, type RoomInvitations } from "./room-invitations.ts";
import { createRoomInviteLinks, type RoomInviteLinks } from "./room-invite-links.ts";
import type { CreateRoomInput, MemberRole, Room, UpdateRoomInput } from "./rooms.schema.ts";

/** Everything that changes who is in a room, or what the room is. Each publishes its events after its commit. */
export interface RoomMembershipChanges extends RoomGroups, RoomInvitations, RoomInviteLinks, DirectRooms {
  create(userId: string, input: CreateRoomInput): Promise<Room>;
  join(userId: string, roomId: string): Promise<Room>;
  leave(userId: string, roomId: string): Promise<void>;
  kick(userId: string, input: { roomId: string; userId: string }): Promise<void>;
  update(userId: string, input: UpdateRoomInput): Promise<Room>;
}

export type Announcement = { toRoom: LoggedRoomEvent } | { toUser: string; event: UserEvent };

/** Per-user rates of the actions that create rooms or bring people into them. */
export type RoomRates = { create: BucketRule; invite: BucketRule; openDirect: BucketRule; joinByLink: BucketRule };

/**
 * The ways into a room, shared by every path that adds someone (join, accepting an invitation, an invite link):
 * the parts of membership changes that the invitation and link modules build on.
 */
export interface RoomAdmission {
  /**
   * Adds the user under the room's lock (addMember below). `admit` runs first in that transaction, with the room locked
   * and the user's current role: it may refuse (throw) or take what admits them (an invitation, a link's use).
   */
  addMember(
    roomId: string,
    user: UserPublic,
    actorId: string,
    admit?: (tx: Db, found: RoomForUser) => Promise<void>,
  ): Promise<{ room: Room; announcements: Announcement[] } | null>;
  announce(announcements: Announcement[]): Promise<void>;
  enforceRate(action: keyof RoomRates, userId: string): Promise<void>;
}

export interface RoomMembershipDeps {
  database: Database;
  events: EventPublisher;
  log: Pick<RoomLog, "append" | "announce" | "forget">;
  clock: Clock;
  logger: Logger;
  rateLimiter: RateLimiter;
  rates: RoomRates & { moderation: BucketRule };
  limits: RoomCapacity;
}

export function createRoomMembershipChanges(deps: RoomMembershipDeps): RoomMembershipChanges {
  const { db } = deps.database;

  /** Creating rooms and adding people to them are cheap to ask for and costly to undo: each has a per-user rate. */
  async function enforceRate(action: keyof RoomRates, userId: string): Promise<void> {
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
    const logged: LoggedRoomEvent[] = [];
    const toUsers: { toUser: string; event: UserEvent }[] = [];
    for (const announcement of announcements) {
      if ("toRoom" in announcement) logged.push(announcement.toRoom);
      else toUsers.push(announcement);
    }
    // Room events go through the log (published in seq order and cached; failures logged there).
    const results = await Promise.allSettled([deps.log.announce(logged), ...toUsers.map((user) => deps.events.toUser(user.toUser, user.event))]);
    results.forEach((result, index) => {
      if (result.status === "fulfilled" || index === 0) return;
      const announcement = toUsers[index - 1];
      deps.logger.error("user event not published", { type: announcement?.event.type, userId: announcement?.toUser, error: result.reason });
    });
  }

  /** `room` as it is once the event at `seq` was appended: its members' sockets attach there. */
  function joined(room: Room, user: UserPublic, role: MemberRole, seq: number): Announcement[] {
    const now = { ...room, lastSeq: seq };
    return [
      { toRoom: { type: "member.joined", roomId: room.id, seq, member: { user, role } } },
      { toUser: user.id, event: { type: "room.membership", roomId: room.id, membership: "joined", room: now } },
    ];
  }

  function departed(room: Room, userId: string, reason: "left" | "removed", seq: number): Announcement[] {
    const now = { ...room, lastSeq: seq };
    return [
      { toRoom: { type: "member.left", roomId: room.id, seq, userId, reason } },
      { toUser: userId, event: { type: "room.membership", roomId: room.id, membership: reason, room: now } },
    ];
  }

  /**
   * Adds the user as a plain member, under the room's lock and within both caps: the room as it is after their
   * member.joined, and what to announce — or null when they already were one (nothing is announced twice).
   * FORBIDDEN (not a member) if the room vanished meanwhile. History from before joining is neither delivered to
   * nor unread by the new member: their watermarks start at their own join.
   */
  const addMember: RoomAdmission["addMember"] = async (roomId, user, actorId, admit) => {
    const added = await db.transaction(async (tx) => {
      const found = await findRoomForUser(tx, user.id, roomId, { lock: "room" });
      if (!found) throw notAMember();
      await admit?.(tx, found);
      if (found.role !== null) return null;
      // Every way in (join, invitation, invite link) comes here: a ban in force keeps them all shut.
      await requireNotBanned(tx, roomId, user.id, deps.clock.now());
      await requireCapacity(tx, deps.limits, { roomId, userIds: [user.id] });
      const [seq] = await deps.log.append(tx, roomId, [{ type: "member.joined", data: { userId: user.id, role: "member" }, actorId }]);
      await tx.insert(roomMembers).values({ roomId, userId: user.id, role: "member", lastReadSeq: seq, lastDeliveredSeq: seq, joinedSeq: seq });
      return { room: { ...found.room, lastSeq: seq as number }, seq: seq as number };
    });
    return added ? { room: added.room, announcements: joined(added.room, user, "member", added.seq) } : null;
  };

  const admission: RoomAdmission = { addMember, announce, enforceRate };
  return {
    ...createRoomGroups({ ...deps, admission }),
    ...createRoomInvitations({ ...deps, admission }),
    ...createRoomInviteLinks({ ...deps, admission }),
    ...createDirectRooms({ ...deps, admission }),
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

    async join(userId, roomId) {
      const found = await findRoomForUser(db, userId, roomId);
      if (!found) throw notAMember();
      if (found.role !== null) return found.room;
      if (found.room.kind !== "public") throw notAMember();
      const added = await addMember(roomId, await findUser(db, userId), userId);
      if (!added) return (await findRoomForUser(db, userId, roomId))?.room ?? found.room; // joined meanwhile
      await announce(added.announcements);
      return added.room;
    },

    async leave(userId, roomId) {
      const { room: current } = await findMemberRoom(db, userId, roomId);
      if (current.kind === "direct") {
        // A direct room always keeps its two people: leaving hides it from my list until its next message.
        await hideDirectRoom(db, roomId, userId);
        await announce([{ toUser: userId, event: { type: "room.hidden", roomId } }]);
        return;
      }
      const left = await db.transaction(async (tx) => {
        const { room, role } = await findMemberRoom(tx, userId, roomId, { lock: "room" });
        const [others] = await tx
          .select({
            members: sql<number>`count(*)`.mapWith(Number),
            owners: sql<number>`count(*) filter (where ${roomMembers.role} = 'owner')`.mapWith(Number),
          })
          .from(roomMembers)
          .where(and(eq(roomMembers.roomId, roomId), ne(roomMembers.userId, userId)));
        if (!others || others.members === 0) {
          // The last one out: the room goes, and its members, messages and log with it (cascades). Joins and
          // invites wait on the room's lock and then find no room.
          // Its files go too: their rows with the room, their objects through the outbox.
          await disposeFiles(tx, eq(files.roomId, roomId), `files.deleteObjects:room:${roomId}`);
          await tx.delete(rooms).where(eq(rooms.id, roomId));
          return { room, seq: null };
        }
        if (role === "owner" && others.owners === 0) {
          throw new DomainError("CONFLICT", "you are the last owner: transfer ownership (rooms.transferOwnership) before leaving", { reason: "LAST_OWNER" });
        }
        await tx.delete(roomMembers).where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
        const [seq] = await deps.log.append(tx, roomId, [{ type: "member.left", data: { userId, reason: "left" }, actorId: userId }]);
        return { room, seq: seq as number };
      });
      if (left.seq !== null) {
        await announce(departed(left.room, userId, "left", left.seq));
        return;
      }
      // Nobody is left to hear a member.left; the leaver's sockets drop the room, told it is gone (room: null).
      await deps.log.forget(roomId);
      await announce([{ toUser: userId, event: { type: "room.membership", roomId, membership: "left", room: null } }]);
    },

    async kick(userId, input) {
      await enforceModerationRate(deps, userId);
      const removed = await db.transaction(async (tx) => {
        const { room, role } = await findMemberRoom(tx, userId, input.roomId, { lock: "room" });
        refuseDirect(room, "have members removed");
        requirePermission(role, "kick");
        if (input.userId === userId) throw new DomainError("BAD_REQUEST", "use rooms.leave to leave a room");
        const targetRole = await requireTargetRole(tx, input.roomId, input.userId);
        requireOutranks(role, targetRole, "remove");
        await tx
          .delete(roomMembers)
          .where(and(eq(roomMembers.roomId, input.roomId), eq(roomMembers.userId, input.userId)));
        const [seq] = await deps.log.append(tx, input.roomId, [
          { type: "member.left", data: { userId: input.userId, reason: "removed" }, actorId: userId },
        ]);
        await recordAudit(tx, {
          roomId: room.id,
          seq: seq as number,
          action: "member.kicked",
          actorId: userId,
          targetUserId: input.userId,
          data: { role: targetRole },
        });
        return { room, seq: seq as number };
      });
      await announce(departed(removed.room, input.userId, "removed", removed.seq));
    },

    async update(userId, input) {
      const settings = input.settings ?? {};
      if (settings.maxMembers != null && settings.maxMembers > deps.limits.roomMaxMembers) {
        throw new DomainError("BAD_REQUEST", `settings.maxMembers must be at most ${deps.limits.roomMaxMembers} (the server's limit)`);
      }
      // Each update is a room event every member receives: it shares the moderators' bucket.
      await enforceModerationRate(deps, userId);
      const updated = await db.transaction(async (tx) => {
        const { room, role } = await findMemberRoom(tx, userId, input.roomId, { lock: "room" });
        refuseDirect(room, "be updated");
        requirePermission(role, "changeSettings");
        const { avatarFileId } = input;
        if (avatarFileId) await requireAvatarFile(tx, userId, avatarFileId, { purpose: "roomAvatar", roomId: room.id });
        // Read under the room's lock: two changes at once each retire the avatar the other replaced.
        if (avatarFileId !== undefined && room.avatarFileId !== null && room.avatarFileId !== avatarFileId) {
          await retireAvatarFile(tx, room.avatarFileId);
        }
        await tx
          .update(rooms)
          .set({
            ...(input.name !== undefined && { name: input.name }),
            ...(input.description !== undefined && { description: input.description }),
            ...(avatarFileId !== undefined && { avatarFileId }),
            // Only the settings named; a lowered maxMembers removes nobody (requireCapacity keeps newcomers out).
            ...(settings.maxMembers !== undefined && { maxMembers: settings.maxMembers }),
            ...(settings.historyVisibility !== undefined && { historyVisibility: settings.historyVisibility }),
            ...(settings.postPolicy !== undefined && { postPolicy: settings.postPolicy }),
            ...(settings.attachmentsAllowed !== undefined && { attachmentsAllowed: settings.attachmentsAllowed }),
            ...(settings.slowModeSeconds !== undefined && { slowModeSeconds: settings.slowModeSeconds }),
            ...(settings.membersCanInvite !== undefined && { membersCanInvite: settings.membersCanInvite }),
          })
          .where(eq(rooms.id, input.roomId));
        const [seq] = await deps.log.append(tx, input.roomId, [{ type: "room.updated", data: null, actorId: userId }]);
        const changes = settingsChanges(
          { name: room.name, description: room.description, avatarFileId: room.avatarFileId, ...room.settings },
          { name: input.name, description: input.description, avatarFileId, ...settings },
        );
        // Saving the settings as they are is announced (clients converge either way) but changed nothing to audit.
        if (Object.keys(changes).length > 0) {
          await recordAudit(tx, { roomId: room.id, seq: seq as number, action: "room.updated", actorId: userId, data: changes });
        }
        const [row] = await tx.select(roomColumns).from(rooms).where(eq(rooms.id, input.roomId));
        if (!row) throw notAMember(); // deleted in between
        return { room: toRoom(row), seq: seq as number };
      });
      await announce([{ toRoom: { type: "room.updated", roomId: updated.room.id, seq: updated.seq, room: updated.room } }]);
      return updated.room;
    },
  };
}
