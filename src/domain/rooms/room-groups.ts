import { and, asc, eq, inArray, lte, ne, sql } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { roomInvitations, roomMembers, rooms, users } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { requireNotBlocked } from "../users/blocking.ts";
import type { RoomAdmission, RoomMembershipDeps } from "./room-membership.ts";
import { requireCapacity } from "./room-capacity.ts";
import { findUser, roomColumns, toRoom } from "./room-access.ts";
import type { CreateGroupInput, Room } from "./rooms.schema.ts";

export interface RoomGroups {
  createGroup(userId: string, input: CreateGroupInput): Promise<Room>;
}

/** How many names an unnamed group shows before it counts the rest. */
const GROUP_NAME_NAMES = 3;

/**
 * An unnamed group's name, as each of its people sees it: the display names of the others, members first (oldest
 * first), then people invited and not yet answered (oldest invitation first). Up to three names are written out
 * ("Ana", "Ana and Bo", "Ana, Bo and Cy"); past three, two and a count ("Ana, Bo and 3 others"), so the count is
 * always at least 2. With nobody else: "Empty group". Clients that hold a Room with an empty name (events carry the
 * stored "") apply the same rule to the members they know.
 */
export function groupName(firstNames: readonly string[], others: number): string {
  if (others === 0 || firstNames.length === 0) return "Empty group";
  if (others <= GROUP_NAME_NAMES) {
    const names = firstNames.slice(0, others);
    return names.length === 1 ? (names[0] as string) : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
  }
  return `${firstNames.slice(0, 2).join(", ")} and ${others - 2} others`;
}

/** Up to GROUP_NAME_NAMES display names per room, in order, and how many there are in all. */
async function firstPeople(
  db: Db,
  viewerId: string,
  roomIds: string[],
  source: "members" | "invitees",
): Promise<Map<string, { names: string[]; total: number }>> {
  const [roomId, userId, at] =
    source === "members"
      ? [roomMembers.roomId, roomMembers.userId, roomMembers.joinedAt]
      : [roomInvitations.roomId, roomInvitations.inviteeId, roomInvitations.createdAt];
  const ranked = db
    .select({
      roomId: sql<string>`${roomId}`.as("room_id"),
      displayName: sql<string>`${users.displayName}`.as("display_name"),
      position: sql<number>`row_number() over (partition by ${roomId} order by ${at}, ${userId})`.mapWith(Number).as("position"),
      total: sql<number>`count(*) over (partition by ${roomId})`.mapWith(Number).as("total"),
    })
    .from(source === "members" ? roomMembers : roomInvitations)
    .innerJoin(users, eq(users.id, userId))
    .where(and(inArray(roomId, roomIds), ne(userId, viewerId)))
    .as("ranked");
  const rows = await db
    .select()
    .from(ranked)
    .where(lte(ranked.position, GROUP_NAME_NAMES))
    .orderBy(asc(ranked.roomId), asc(ranked.position));
  const byRoom = new Map<string, { names: string[]; total: number }>();
  for (const row of rows) {
    const entry = byRoom.get(row.roomId) ?? { names: [], total: row.total };
    entry.names.push(row.displayName);
    byRoom.set(row.roomId, entry);
  }
  return byRoom;
}

/** Each unnamed group's name for `viewerId` (groupName), by room id. */
export async function groupNames(db: Db, viewerId: string, roomIds: readonly string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  if (roomIds.length === 0) return names;
  const [members, invitees] = await Promise.all([
    firstPeople(db, viewerId, [...roomIds], "members"),
    firstPeople(db, viewerId, [...roomIds], "invitees"),
  ]);
  for (const roomId of roomIds) {
    const joined = members.get(roomId) ?? { names: [], total: 0 };
    const invited = invitees.get(roomId) ?? { names: [], total: 0 };
    names.set(roomId, groupName([...joined.names, ...invited.names].slice(0, GROUP_NAME_NAMES), joined.total + invited.total));
  }
  return names;
}

/** Rooms as `viewerId` sees them: an unnamed group gets the name its people give it (groupName). */
export async function presentRooms<T extends Room>(db: Db, viewerId: string, list: readonly T[]): Promise<T[]> {
  const unnamed = list.filter((room) => room.kind === "group" && room.name === "").map((room) => room.id);
  if (unnamed.length === 0) return [...list];
  const names = await groupNames(db, viewerId, unnamed);
  return list.map((room) => (names.has(room.id) ? { ...room, name: names.get(room.id) as string } : room));
}

export async function presentRoom<T extends Room>(db: Db, viewerId: string, room: T): Promise<T> {
  const [presented] = await presentRooms(db, viewerId, [room]);
  return presented ?? room;
}

export function createRoomGroups(deps: RoomMembershipDeps & { admission: RoomAdmission }): RoomGroups {
  const { db } = deps.database;
  return {
    async createGroup(userId, input) {
      if (input.userIds.includes(userId)) throw new DomainError("BAD_REQUEST", "list the other people: you are in the group as its creator");
      await deps.admission.enforceRate("create", userId);
      const creator = await findUser(db, userId);
      const invitees = await db
        .select({ id: users.id, displayName: users.displayName })
        .from(users)
        .where(inArray(users.id, input.userIds))
        .orderBy(asc(users.id));
      if (invitees.length !== input.userIds.length) throw new DomainError("NOT_FOUND", "no such user");
      for (const invitee of invitees) await requireNotBlocked(db, userId, invitee.id, "invite");
      const created = await db.transaction(async (tx) => {
        // Only the creator joins now: everyone else is invited, and joins (within the caps) by accepting.
        await requireCapacity(tx, deps.limits, { roomId: null, userIds: [userId] });
        const [row] = await tx
          .insert(rooms)
          .values({ kind: "group", name: input.name ?? "", createdBy: userId, membersCanInvite: true })
          .returning(roomColumns);
        if (!row) throw new Error("room insert returned nothing");
        await tx.insert(roomMembers).values({ roomId: row.id, userId, role: "owner" });
        const invitations = await tx
          .insert(roomInvitations)
          .values(input.userIds.map((inviteeId) => ({ roomId: row.id, inviteeId, inviterId: userId })))
          .returning({ id: roomInvitations.id, inviteeId: roomInvitations.inviteeId, createdAt: roomInvitations.createdAt });
        return { room: toRoom(row), invitations };
      });
      const room = created.room;
      // How each invitee sees the new group's name: the creator (its one member), then the others invited with them
      // (one invitation time, so in user id order) — groupNames' order, without a query per invitee.
      const nameFor = (inviteeId: string): string =>
        room.name ||
        groupName(
          [creator, ...invitees.filter((invitee) => invitee.id !== inviteeId)].slice(0, GROUP_NAME_NAMES).map((person) => person.displayName),
          invitees.length,
        );
      await deps.admission.announce([
        { toUser: userId, event: { type: "room.membership", roomId: room.id, membership: "joined", room } },
        ...created.invitations.map((invitation) => ({
          toUser: invitation.inviteeId,
          event: {
            type: "invitation" as const,
            invitation: {
              id: invitation.id,
              room: { id: room.id, kind: room.kind, name: nameFor(invitation.inviteeId), memberCount: 1 },
              inviter: creator,
              createdAt: invitation.createdAt.toISOString(),
            },
          },
        })),
      ]);
      return presentRoom(db, userId, room);
    },
  };
}
