import { and, desc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import { roomInvitations, roomInviteLinks, rooms, users } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { hashOpaqueToken, newOpaqueToken } from "../auth/opaque-token.ts";
import { may } from "./permissions.ts";
import { findMemberRoom, findUser, refuseDirect, roleIn } from "./room-access.ts";
import { groupNames, presentRoom } from "./room-groups.ts";
import { namedForJoiner, requireMayInvite } from "./room-invitations.ts";
import type { RoomAdmission, RoomMembershipDeps } from "./room-membership.ts";
import {
  type CreatedInviteLink,
  type CreateInviteLinkInput,
  INVITE_LINK_DEFAULT_SECONDS,
  type InviteLink,
  type LinkedRoom,
  type Room,
} from "./rooms.schema.ts";

/** Links that admit whoever holds their token to a private room or a group, until revoked, expired or used up. */
export interface RoomInviteLinks {
  createInviteLink(userId: string, input: CreateInviteLinkInput): Promise<CreatedInviteLink>;
  inviteLinks(userId: string, roomId: string): Promise<InviteLink[]>;
  revokeInviteLink(userId: string, linkId: string): Promise<void>;
  joinByLink(userId: string, token: string): Promise<Room>;
  inviteLinkRoom(userId: string, token: string): Promise<LinkedRoom>;
}

/** A link that still admits someone: not revoked, not expired, not used up. */
function stillUsable(now: Date) {
  return and(
    isNull(roomInviteLinks.revokedAt),
    or(isNull(roomInviteLinks.expiresAt), gt(roomInviteLinks.expiresAt, now)),
    or(isNull(roomInviteLinks.maxUses), lt(roomInviteLinks.uses, roomInviteLinks.maxUses)),
  );
}

/** The most recent links `rooms.inviteLinks` lists. */
const INVITE_LINKS_LISTED = 200;

/**
 * One answer for every link that admits nobody — unknown, revoked, expired or used up — so that a guesser learns
 * nothing about which tokens exist.
 */
function unusableLink(): DomainError {
  return new DomainError("FORBIDDEN", "this invite link is invalid, revoked, expired or used up", { reason: "INVITE_LINK" });
}

function refusePublic(room: Room): void {
  if (room.kind === "public") throw new DomainError("BAD_REQUEST", "public rooms need no invite link: anyone may join them");
}

export function createRoomInviteLinks(deps: RoomMembershipDeps & { admission: RoomAdmission }): RoomInviteLinks {
  const { db } = deps.database;
  const { admission } = deps;

  return {
    async createInviteLink(userId, input) {
      const { room, role } = await findMemberRoom(db, userId, input.roomId);
      refuseDirect(room, "have invite links");
      refusePublic(room);
      await requireMayInvite(db, room.id, role);
      await admission.enforceRate("invite", userId);
      const token = newOpaqueToken();
      const expiresAt = new Date(deps.clock.now().getTime() + (input.expiresInSeconds ?? INVITE_LINK_DEFAULT_SECONDS) * 1000);
      const [row] = await db
        .insert(roomInviteLinks)
        .values({ roomId: room.id, tokenHash: hashOpaqueToken(token), createdBy: userId, expiresAt, maxUses: input.maxUses ?? null })
        .returning({ id: roomInviteLinks.id });
      if (!row) throw new Error("invite link insert returned nothing");
      return { id: row.id, token, expiresAt: expiresAt.toISOString(), maxUses: input.maxUses ?? null };
    },

    async inviteLinks(userId, roomId) {
      const { room, role } = await findMemberRoom(db, userId, roomId);
      refuseDirect(room, "have invite links");
      // Moderators and up see every link of the room; anyone else the links they made.
      const rows = await db
        .select({
          id: roomInviteLinks.id,
          roomId: roomInviteLinks.roomId,
          createdBy: { id: users.id, username: users.username, displayName: users.displayName },
          createdAt: roomInviteLinks.createdAt,
          expiresAt: roomInviteLinks.expiresAt,
          maxUses: roomInviteLinks.maxUses,
          uses: roomInviteLinks.uses,
          revokedAt: roomInviteLinks.revokedAt,
        })
        .from(roomInviteLinks)
        .leftJoin(users, eq(users.id, roomInviteLinks.createdBy))
        .where(and(eq(roomInviteLinks.roomId, roomId), may(role, "invite") ? undefined : eq(roomInviteLinks.createdBy, userId)))
        .orderBy(desc(roomInviteLinks.createdAt), desc(roomInviteLinks.id))
        .limit(INVITE_LINKS_LISTED);
      return rows.map((row) => ({
        ...row,
        createdAt: row.createdAt.toISOString(),
        // Every link is made with an expiry (createInviteLink); a row without one would never lapse.
        expiresAt: (row.expiresAt ?? row.createdAt).toISOString(),
        revokedAt: row.revokedAt?.toISOString() ?? null,
      }));
    },

    async revokeInviteLink(userId, linkId) {
      const [link] = await db
        .select({ roomId: roomInviteLinks.roomId, createdBy: roomInviteLinks.createdBy })
        .from(roomInviteLinks)
        .where(eq(roomInviteLinks.id, linkId));
      if (!link) throw new DomainError("NOT_FOUND", "no such invite link");
      if (link.createdBy !== userId) {
        const role = await roleIn(db, link.roomId, userId);
        if (role === null) throw new DomainError("NOT_FOUND", "no such invite link");
        if (!may(role, "invite")) throw new DomainError("FORBIDDEN", "only the link's creator and the room's owners, admins and moderators can revoke it");
      }
      // Revoking twice keeps the first time.
      await db
        .update(roomInviteLinks)
        .set({ revokedAt: deps.clock.now() })
        .where(and(eq(roomInviteLinks.id, linkId), isNull(roomInviteLinks.revokedAt)));
    },

    async inviteLinkRoom(userId, token) {
      // The same bucket as joining: a look is as good a guess as a join.
      await admission.enforceRate("joinByLink", userId);
      const now = deps.clock.now();
      const [row] = await db
        .select({ id: rooms.id, kind: rooms.kind, name: rooms.name, memberCount: rooms.memberCount })
        .from(roomInviteLinks)
        .innerJoin(rooms, eq(rooms.id, roomInviteLinks.roomId))
        .where(and(eq(roomInviteLinks.tokenHash, hashOpaqueToken(token)), stillUsable(now)));
      if (!row) throw unusableLink();
      const named = row.kind === "group" && row.name === "" ? (await groupNames(db, userId, [row.id])).get(row.id) : undefined;
      return { ...row, name: named ?? row.name, member: (await roleIn(db, row.id, userId)) !== null };
    },

    async joinByLink(userId, token) {
      // Charged before anything is looked up: guessing tokens costs a call each.
      await admission.enforceRate("joinByLink", userId);
      const [link] = await db
        .select({ id: roomInviteLinks.id, roomId: roomInviteLinks.roomId })
        .from(roomInviteLinks)
        .where(eq(roomInviteLinks.tokenHash, hashOpaqueToken(token)));
      if (!link) throw unusableLink();
      const user = await findUser(db, userId);
      const added = await admission.addMember(link.roomId, user, userId, async (tx, found) => {
        const now = deps.clock.now();
        const usable = and(eq(roomInviteLinks.id, link.id), stillUsable(now));
        if (found.role !== null) {
          // A member gets the room back; their visit takes no use.
          const [valid] = await tx.select({ id: roomInviteLinks.id }).from(roomInviteLinks).where(usable);
          if (!valid) throw unusableLink();
          return;
        }
        // One statement takes a use, or finds none left: two joins never share the last one.
        const [taken] = await tx
          .update(roomInviteLinks)
          .set({ uses: sql`${roomInviteLinks.uses} + 1` })
          .where(usable)
          .returning({ id: roomInviteLinks.id });
        if (!taken) throw unusableLink();
        // addMember refuses a ban in force after this, rolling the use back.
        // Joining answers any invitation to the same room.
        await tx.delete(roomInvitations).where(and(eq(roomInvitations.roomId, link.roomId), eq(roomInvitations.inviteeId, userId)));
      });
      const room = await presentRoom(db, userId, added?.room ?? (await findMemberRoom(db, userId, link.roomId)).room);
      if (added) await admission.announce(namedForJoiner(added.announcements, room));
      return room;
    },
  };
}
