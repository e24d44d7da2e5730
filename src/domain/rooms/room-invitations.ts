import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { roomInvitations, rooms, users } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { requireNotBlocked } from "../users/blocking.ts";
import { may, requirePermission } from "./permissions.ts";
import { findMemberRoom, findRoomForUser, findUser, notAMember, refuseDirect, roleIn } from "./room-access.ts";
import { requireNotBanned } from "./room-bans.ts";
import { groupNames, presentRoom } from "./room-groups.ts";
import type { Announcement, RoomAdmission, RoomMembershipDeps } from "./room-membership.ts";
import type { MemberRole, Room, RoomInvitation } from "./rooms.schema.ts";

/**
 * Invitations with consent: inviting someone to a room asks them; they join only by accepting. Each change tells the
 * invitee's devices (`invitation`, `invitation.removed` on their user topic) after its commit.
 */
export interface RoomInvitations {
  invite(userId: string, input: { roomId: string; userId: string }): Promise<{ invitationId: string | null }>;
  invitations(userId: string): Promise<RoomInvitation[]>;
  acceptInvite(userId: string, invitationId: string): Promise<Room>;
  declineInvite(userId: string, invitationId: string): Promise<void>;
  cancelInvite(userId: string, invitationId: string): Promise<void>;
}

/** The one answer for an invitation that is not yours to act on, or no longer exists. */
function noSuchInvitation(): DomainError {
  return new DomainError("NOT_FOUND", "no such invitation");
}

/**
 * Who may invite: moderators and up (ROOM_PERMISSIONS), or every member where the room lets members invite (groups
 * do from the start). Invite links follow the same rule.
 */
export async function requireMayInvite(db: Db, roomId: string, role: MemberRole): Promise<void> {
  if (may(role, "invite")) return;
  const [room] = await db.select({ membersCanInvite: rooms.membersCanInvite }).from(rooms).where(eq(rooms.id, roomId));
  if (room?.membersCanInvite) return;
  requirePermission(role, "invite");
}

/** The joiner's devices attach to the room as it is named for them (an unnamed group's stored name is ""). */
export function namedForJoiner(announcements: Announcement[], room: Room): Announcement[] {
  return announcements.map((announcement) =>
    "toUser" in announcement && announcement.event.type === "room.membership" && announcement.event.room
      ? { ...announcement, event: { ...announcement.event, room: { ...announcement.event.room, name: room.name } } }
      : announcement,
  );
}

/** The invitee's pending invitations (all of them, or one), newest first, as `rooms.invitations` shows them. */
async function invitationsOf(db: Db, inviteeId: string, invitationId?: string): Promise<RoomInvitation[]> {
  const rows = await db
    .select({
      id: roomInvitations.id,
      room: { id: rooms.id, kind: rooms.kind, name: rooms.name, memberCount: rooms.memberCount },
      inviter: { id: users.id, username: users.username, displayName: users.displayName },
      createdAt: roomInvitations.createdAt,
    })
    .from(roomInvitations)
    .innerJoin(rooms, eq(rooms.id, roomInvitations.roomId))
    .leftJoin(users, eq(users.id, roomInvitations.inviterId))
    .where(and(eq(roomInvitations.inviteeId, inviteeId), invitationId ? eq(roomInvitations.id, invitationId) : undefined))
    .orderBy(desc(roomInvitations.createdAt), desc(roomInvitations.id));
  const unnamed = rows.filter((row) => row.room.kind === "group" && row.room.name === "").map((row) => row.room.id);
  const names = await groupNames(db, inviteeId, unnamed);
  return rows.map((row) => ({
    id: row.id,
    room: { ...row.room, name: names.get(row.room.id) ?? row.room.name },
    inviter: row.inviter,
    createdAt: row.createdAt.toISOString(),
  }));
}

export function createRoomInvitations(deps: RoomMembershipDeps & { admission: RoomAdmission }): RoomInvitations {
  const { db } = deps.database;
  const { admission } = deps;

  const removed = (inviteeId: string, invitationId: string, reason: "accepted" | "declined" | "cancelled"): Announcement => ({
    toUser: inviteeId,
    event: { type: "invitation.removed", invitationId, reason },
  });

  return {
    async invite(userId, input) {
      const { room, role } = await findMemberRoom(db, userId, input.roomId);
      refuseDirect(room, "have members invited");
      await requireMayInvite(db, room.id, role);
      const invitee = await findUser(db, input.userId);
      await requireNotBlocked(db, userId, invitee.id, "invite");
      await admission.enforceRate("invite", userId);
      const outcome = await db.transaction(async (tx) => {
        // Under the room's lock, like every way in: a ban and an invitation never both win.
        const found = await findRoomForUser(tx, invitee.id, room.id, { lock: "room" });
        if (!found) throw notAMember();
        if (found.role !== null) return { invitationId: null, fresh: false };
        await requireNotBanned(tx, room.id, invitee.id, deps.clock.now());
        const [row] = await tx
          .insert(roomInvitations)
          .values({ roomId: room.id, inviteeId: invitee.id, inviterId: userId })
          .onConflictDoNothing({ target: [roomInvitations.roomId, roomInvitations.inviteeId] })
          .returning({ id: roomInvitations.id });
        if (row) return { invitationId: row.id, fresh: true };
        const [existing] = await tx
          .select({ id: roomInvitations.id })
          .from(roomInvitations)
          .where(and(eq(roomInvitations.roomId, room.id), eq(roomInvitations.inviteeId, invitee.id)));
        return { invitationId: existing?.id ?? null, fresh: false };
      });
      // Asking again changes nothing and tells nobody again.
      if (outcome.fresh && outcome.invitationId) {
        const [invitation] = await invitationsOf(db, invitee.id, outcome.invitationId);
        if (invitation) await admission.announce([{ toUser: invitee.id, event: { type: "invitation", invitation } }]);
      }
      return { invitationId: outcome.invitationId };
    },

    invitations(userId) {
      return invitationsOf(db, userId);
    },

    async acceptInvite(userId, invitationId) {
      const [invitation] = await db
        .select({ roomId: roomInvitations.roomId })
        .from(roomInvitations)
        .where(and(eq(roomInvitations.id, invitationId), eq(roomInvitations.inviteeId, userId)));
      if (!invitation) throw noSuchInvitation();
      const user = await findUser(db, userId);
      // addMember refuses a ban in force (and the invitation stays, as for a full room).
      const added = await admission.addMember(invitation.roomId, user, userId, async (tx) => {
        // Taken under the room's lock: of two accepts (or an accept and a cancel) exactly one finds it.
        const [taken] = await tx
          .delete(roomInvitations)
          .where(and(eq(roomInvitations.id, invitationId), eq(roomInvitations.inviteeId, userId)))
          .returning({ id: roomInvitations.id });
        if (!taken) throw noSuchInvitation();
      });
      const room = await presentRoom(db, userId, added?.room ?? (await findMemberRoom(db, userId, invitation.roomId)).room);
      await admission.announce([...namedForJoiner(added?.announcements ?? [], room), removed(userId, invitationId, "accepted")]);
      return room;
    },

    async declineInvite(userId, invitationId) {
      const [declined] = await db
        .delete(roomInvitations)
        .where(and(eq(roomInvitations.id, invitationId), eq(roomInvitations.inviteeId, userId)))
        .returning({ id: roomInvitations.id });
      if (!declined) throw noSuchInvitation();
      await admission.announce([removed(userId, invitationId, "declined")]);
    },

    async cancelInvite(userId, invitationId) {
      const [invitation] = await db
        .select({ roomId: roomInvitations.roomId, inviteeId: roomInvitations.inviteeId, inviterId: roomInvitations.inviterId })
        .from(roomInvitations)
        .where(eq(roomInvitations.id, invitationId));
      if (!invitation) throw noSuchInvitation();
      if (invitation.inviterId !== userId) {
        // Someone else's invitation: only the room's moderators and up may withdraw it; to anyone outside the room
        // it does not exist.
        const role = await roleIn(db, invitation.roomId, userId);
        if (role === null) throw noSuchInvitation();
        if (!may(role, "invite")) throw new DomainError("FORBIDDEN", "only the inviter and the room's owners, admins and moderators can cancel an invitation");
      }
      const [cancelled] = await db.delete(roomInvitations).where(eq(roomInvitations.id, invitationId)).returning({ id: roomInvitations.id });
      if (!cancelled) throw noSuchInvitation(); // answered meanwhile
      await admission.announce([removed(invitation.inviteeId, invitationId, "cancelled")]);
    },
  };
}
