import { and, eq } from "drizzle-orm";
import type { MemberRole, Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { RoomService } from "../../src/domain/rooms/rooms.service.ts";
import { roomMembers } from "../../src/infra/db/schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { createUser } from "../support/factories.ts";
import type { TestDeps } from "../support/test-deps.ts";

/**
 * Sets a member's role directly in the database: setup for specs about what a role may do, free of the rules of
 * rooms.setRole (specified in room-roles.test.ts) and taking no seq.
 */
export async function setRole(deps: TestDeps, roomId: string, userId: string, role: MemberRole): Promise<void> {
  await deps.database.db
    .update(roomMembers)
    .set({ role })
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
}

/** A token no other test uses (safe in usernames, room names and clientMsgIds). */
export function token(): string {
  return `t${Math.random().toString(36).slice(2, 10)}`;
}

type Tuple<T, N extends number, Built extends T[] = []> = Built["length"] extends N ? Built : Tuple<T, N, [...Built, T]>;

/** `count` new users, typed as a tuple so they destructure without undefined checks. */
export async function createUsers<const N extends number>(deps: TestDeps, count: N): Promise<Tuple<UserPublic, N>> {
  return (await Promise.all(Array.from({ length: count }, () => createUser(deps.database)))) as Tuple<UserPublic, N>;
}

/**
 * Brings someone into a room the way people now arrive in private rooms and groups: invited, then accepting.
 * Nothing happens for someone who already is a member.
 */
export async function inviteAndAccept(
  deps: { services: { rooms: Pick<RoomService, "invite" | "acceptInvite"> } },
  inviterId: string,
  roomId: string,
  inviteeId: string,
): Promise<void> {
  const { invitationId } = await deps.services.rooms.invite(inviterId, { roomId, userId: inviteeId });
  if (invitationId) await deps.services.rooms.acceptInvite(inviteeId, invitationId);
}

/**
 * A room of `owner` with each of `others` in it at the role beside them: a public room they joined, or a private one
 * they were invited to and accepted. Roles are set directly (setRole); the room is returned as it is afterwards.
 */
export async function roomWithRoles(
  deps: TestDeps,
  owner: UserPublic,
  kind: "public" | "private",
  others: readonly (readonly [UserPublic, MemberRole])[],
): Promise<Room> {
  const room = await deps.services.rooms.create(owner.id, { name: token(), kind });
  for (const [user, role] of others) {
    if (kind === "public") await deps.services.rooms.join(user.id, room.id);
    else await inviteAndAccept(deps, owner.id, room.id, user.id);
    if (role !== "member") await setRole(deps, room.id, user.id, role);
  }
  return deps.services.rooms.get(owner.id, room.id);
}
