import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { roomBans, rooms, userBlocks } from "../../src/infra/db/schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, inviteAndAccept, setRole, token } from "./room-fixtures.ts";
import { callerFor, domainError, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

const NO_SUCH_INVITATION = { code: "NOT_FOUND", message: "no such invitation" } as const;
const BANNED = { code: "FORBIDDEN", reason: "BANNED" } as const;
const BLOCKED = { code: "FORBIDDEN", reason: "BLOCKED", message: "you cannot invite this user" } as const;

/** Invitations with consent: nobody is added to a room without accepting. */
describe.each(databaseKinds)("room invitations on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const privateRoomOf = (owner: UserPublic): Promise<Room> => deps.services.rooms.create(owner.id, { name: token(), kind: "private" });
  const invitationIdOf = async (inviterId: string, roomId: string, inviteeId: string): Promise<string> => {
    const { invitationId } = await deps.services.rooms.invite(inviterId, { roomId, userId: inviteeId });
    if (!invitationId) throw new Error("no invitation");
    return invitationId;
  };

  it("invites without adding: the invitee is told once, sees it in rooms.invitations, and is no member until accepting", async () => {
    const [owner, invitee] = await createUsers(deps, 2);
    const room = await privateRoomOf(owner);
    const inviteeEvents = await deps.recordEvents({ userId: invitee.id });
    const roomEvents = await deps.recordEvents({ roomId: room.id });
    const first = await callerFor(deps.services, owner.id).rooms.invite({ roomId: room.id, userId: invitee.id });
    const again = await callerFor(deps.services, owner.id).rooms.invite({ roomId: room.id, userId: invitee.id });
    await settle();
    expect(again).toEqual(first);
    const invitations = await callerFor(deps.services, invitee.id).rooms.invitations();
    expect(invitations).toEqual([
      { id: first.invitationId, room: { id: room.id, kind: "private", name: room.name, memberCount: 1 }, inviter: owner, createdAt: expect.any(String) },
    ]);
    expect(inviteeEvents).toEqual([{ type: "invitation", invitation: invitations[0] }]);
    expect(roomEvents).toEqual([]);
    expect(await domainError(deps.services.rooms.requireMember(invitee.id, room.id))).toMatchObject(NOT_A_MEMBER);
    expect(await domainError(deps.services.rooms.get(invitee.id, room.id))).toMatchObject(NOT_A_MEMBER);
  });

  it("joins on accepting: member.joined to the room, the room to the joiner's sockets, and the invitation gone from every device", async () => {
    const [owner, invitee] = await createUsers(deps, 2);
    const room = await privateRoomOf(owner);
    const invitationId = await invitationIdOf(owner.id, room.id, invitee.id);
    const inviteeEvents = await deps.recordEvents({ userId: invitee.id });
    const roomEvents = await deps.recordEvents({ roomId: room.id });
    const joined = await callerFor(deps.services, invitee.id).rooms.acceptInvite({ invitationId });
    await settle();
    expect(joined).toEqual({ ...room, lastSeq: 1 });
    expect(roomEvents).toEqual([{ type: "member.joined", roomId: room.id, seq: 1, member: { user: invitee, role: "member" } }]);
    expect(inviteeEvents).toEqual([
      { type: "room.membership", roomId: room.id, membership: "joined", room: joined },
      { type: "invitation.removed", invitationId, reason: "accepted" },
    ]);
    expect(await deps.services.rooms.requireMember(invitee.id, room.id)).toBe("member");
    expect(await deps.services.rooms.invitations(invitee.id)).toEqual([]);
    expect(await domainError(deps.services.rooms.acceptInvite(invitee.id, invitationId))).toMatchObject(NO_SUCH_INVITATION);
    // Inviting a member asks nothing.
    expect(await deps.services.rooms.invite(owner.id, { roomId: room.id, userId: invitee.id })).toEqual({ invitationId: null });
  });

  it("lets only the invitee answer; declining deletes it and tells their devices, and nobody joins", async () => {
    const [owner, invitee, other] = await createUsers(deps, 3);
    const room = await privateRoomOf(owner);
    const invitationId = await invitationIdOf(owner.id, room.id, invitee.id);
    expect(await trpcError(callerFor(deps.services, other.id).rooms.acceptInvite({ invitationId }))).toMatchObject(NO_SUCH_INVITATION);
    expect(await trpcError(callerFor(deps.services, owner.id).rooms.declineInvite({ invitationId }))).toMatchObject(NO_SUCH_INVITATION);
    const inviteeEvents = await deps.recordEvents({ userId: invitee.id });
    await callerFor(deps.services, invitee.id).rooms.declineInvite({ invitationId });
    await settle();
    expect(inviteeEvents).toEqual([{ type: "invitation.removed", invitationId, reason: "declined" }]);
    expect(await domainError(deps.services.rooms.acceptInvite(invitee.id, invitationId))).toMatchObject(NO_SUCH_INVITATION);
    expect(await domainError(deps.services.rooms.declineInvite(invitee.id, invitationId))).toMatchObject(NO_SUCH_INVITATION);
    expect(await domainError(deps.services.rooms.requireMember(invitee.id, room.id))).toMatchObject(NOT_A_MEMBER);
  });

  it("lets the inviter and the room's moderators cancel, not other members, and no outsider learns it exists", async () => {
    const [owner, moderator, member, outsider, invitee, second] = await createUsers(deps, 6);
    const room = await privateRoomOf(owner);
    for (const user of [moderator, member]) await inviteAndAccept(deps, owner.id, room.id, user.id);
    await setRole(deps, room.id, moderator.id, "moderator");
    const fromOwner = await invitationIdOf(owner.id, room.id, invitee.id);
    const fromModerator = await invitationIdOf(moderator.id, room.id, second.id);
    expect(await trpcError(callerFor(deps.services, member.id).rooms.cancelInvite({ invitationId: fromOwner }))).toMatchObject({
      code: "FORBIDDEN",
      message: "only the inviter and the room's owners, admins and moderators can cancel an invitation",
    });
    expect(await trpcError(callerFor(deps.services, outsider.id).rooms.cancelInvite({ invitationId: fromOwner }))).toMatchObject(NO_SUCH_INVITATION);
    expect(await trpcError(callerFor(deps.services, invitee.id).rooms.cancelInvite({ invitationId: fromOwner }))).toMatchObject(NO_SUCH_INVITATION);
    const inviteeEvents = await deps.recordEvents({ userId: invitee.id });
    await callerFor(deps.services, moderator.id).rooms.cancelInvite({ invitationId: fromOwner });
    await callerFor(deps.services, moderator.id).rooms.cancelInvite({ invitationId: fromModerator });
    await settle();
    expect(inviteeEvents).toEqual([{ type: "invitation.removed", invitationId: fromOwner, reason: "cancelled" }]);
    expect(await deps.services.rooms.invitations(invitee.id)).toEqual([]);
    expect(await domainError(deps.services.rooms.acceptInvite(invitee.id, fromOwner))).toMatchObject(NO_SUCH_INVITATION);
    expect(await domainError(deps.services.rooms.cancelInvite(owner.id, fromOwner))).toMatchObject(NO_SUCH_INVITATION);
  });

  it("lets moderators and up invite, plain members only where the room lets members invite; refuses outsiders, unknown users and direct rooms", async () => {
    const [owner, member, outsider, target, friend] = await createUsers(deps, 5);
    const room = await privateRoomOf(owner);
    await inviteAndAccept(deps, owner.id, room.id, member.id);
    const input = { roomId: room.id, userId: target.id };
    expect(await trpcError(callerFor(deps.services, member.id).rooms.invite(input))).toMatchObject({
      code: "FORBIDDEN",
      message: "only owners, admins and moderators can invite",
    });
    expect(await trpcError(callerFor(deps.services, outsider.id).rooms.invite(input))).toMatchObject(NOT_A_MEMBER);
    expect(await trpcError(callerFor(deps.services, owner.id).rooms.invite({ roomId: room.id, userId: crypto.randomUUID() }))).toMatchObject({
      code: "NOT_FOUND",
      message: "no such user",
    });
    await deps.database.db.update(rooms).set({ membersCanInvite: true }).where(eq(rooms.id, room.id));
    expect((await callerFor(deps.services, member.id).rooms.invite(input)).invitationId).toEqual(expect.any(String));
    const direct = await deps.services.rooms.openDirect(owner.id, friend.id);
    expect(await domainError(deps.services.rooms.invite(owner.id, { roomId: direct.id, userId: target.id }))).toMatchObject({
      code: "BAD_REQUEST",
      message: "direct rooms cannot have members invited",
    });
  });

  it("invites to public rooms too (a nudge: they could join anyway)", async () => {
    const [owner, invitee] = await createUsers(deps, 2);
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
    const invitationId = await invitationIdOf(owner.id, room.id, invitee.id);
    await deps.services.rooms.join(invitee.id, room.id);
    // Accepting after joining another way: the invitation goes, nothing is announced twice.
    const roomEvents = await deps.recordEvents({ roomId: room.id });
    expect(await deps.services.rooms.acceptInvite(invitee.id, invitationId)).toMatchObject({ id: room.id });
    await settle();
    expect(roomEvents).toEqual([]);
  });

  it("refuses to invite someone banned from the room, and keeps out a ban that came after the invitation (reason BANNED)", async () => {
    const [owner, banned, later, expired] = await createUsers(deps, 4);
    const room = await privateRoomOf(owner);
    const now = deps.clock.now();
    await deps.database.db.insert(roomBans).values([
      { roomId: room.id, userId: banned.id, bannedBy: owner.id },
      { roomId: room.id, userId: expired.id, bannedBy: owner.id, expiresAt: new Date(now.getTime() - 1000) },
    ]);
    expect(await domainError(deps.services.rooms.invite(owner.id, { roomId: room.id, userId: banned.id }))).toMatchObject(BANNED);
    expect(await deps.services.rooms.invitations(banned.id)).toEqual([]);
    const laterInvitation = await invitationIdOf(owner.id, room.id, later.id);
    await deps.database.db.insert(roomBans).values({ roomId: room.id, userId: later.id, bannedBy: owner.id, expiresAt: new Date(now.getTime() + 3_600_000) });
    expect(await domainError(deps.services.rooms.acceptInvite(later.id, laterInvitation))).toMatchObject(BANNED);
    expect(await domainError(deps.services.rooms.requireMember(later.id, room.id))).toMatchObject(NOT_A_MEMBER);
    // A ban that has run out keeps nobody out.
    await inviteAndAccept(deps, owner.id, room.id, expired.id);
    expect(await deps.services.rooms.requireMember(expired.id, room.id)).toBe("member");
  });

  it("refuses to invite across a block, either way, without saying who blocked whom (reason BLOCKED)", async () => {
    const [owner, blockedByOwner, blockerOfOwner] = await createUsers(deps, 3);
    const room = await privateRoomOf(owner);
    await deps.database.db.insert(userBlocks).values([
      { blockerId: owner.id, blockedId: blockedByOwner.id },
      { blockerId: blockerOfOwner.id, blockedId: owner.id },
    ]);
    for (const target of [blockedByOwner, blockerOfOwner]) {
      expect(await trpcError(callerFor(deps.services, owner.id).rooms.invite({ roomId: room.id, userId: target.id }))).toMatchObject({
        code: "FORBIDDEN",
        message: BLOCKED.message,
        cause: { reason: "BLOCKED" },
      });
      expect(await deps.services.rooms.invitations(target.id)).toEqual([]);
    }
  });

  it("lists my pending invitations newest first, each with its room and inviter", async () => {
    const [first, second, me] = await createUsers(deps, 3);
    const older = await privateRoomOf(first);
    const newer = await privateRoomOf(second);
    await invitationIdOf(first.id, older.id, me.id);
    await invitationIdOf(second.id, newer.id, me.id);
    const listed = await deps.services.rooms.invitations(me.id);
    expect(listed.map((invitation) => [invitation.room.id, invitation.inviter?.id])).toEqual([
      [newer.id, second.id],
      [older.id, first.id],
    ]);
  });
});
