import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashOpaqueToken, newOpaqueToken } from "../../src/domain/auth/opaque-token.ts";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { roomBans, roomInviteLinks, rooms } from "../../src/infra/db/schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, inviteAndAccept, setRole, token } from "./room-fixtures.ts";
import { callerFor, domainError, inputIssues, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

/** One refusal for every link that admits nobody, so that no answer tells a guesser which tokens exist. */
const INVITE_LINK = { code: "FORBIDDEN", reason: "INVITE_LINK", message: "this invite link is invalid, revoked, expired or used up" } as const;

describe.each(databaseKinds)("invite links on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind, { limits: { roomMaxMembers: 3, userMaxRooms: 5_000 } });
  });
  afterAll(async () => {
    await deps?.close();
  });

  const privateRoomOf = (owner: UserPublic): Promise<Room> => deps.services.rooms.create(owner.id, { name: token(), kind: "private" });

  it("admits whoever holds the token, taking a use; the token is shown once and stored only as its hash", async () => {
    const [owner, guest] = await createUsers(deps, 2);
    const room = await privateRoomOf(owner);
    const link = await callerFor(deps.services, owner.id).rooms.createInviteLink({ roomId: room.id, maxUses: 5 });
    expect(link).toEqual({ id: expect.any(String), token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresAt: expect.any(String), maxUses: 5 });
    // Seven days unless asked otherwise.
    expect(Date.parse(link.expiresAt) - deps.clock.now().getTime()).toBe(7 * 24 * 3600 * 1000);
    const [stored] = await deps.database.db.select({ tokenHash: roomInviteLinks.tokenHash }).from(roomInviteLinks).where(eq(roomInviteLinks.id, link.id));
    expect(stored?.tokenHash).toBe(hashOpaqueToken(link.token));
    const roomEvents = await deps.recordEvents({ roomId: room.id });
    const joined = await callerFor(deps.services, guest.id).rooms.joinByLink({ token: link.token });
    await settle();
    expect(joined).toEqual({ ...room, lastSeq: 1 });
    expect(roomEvents).toEqual([{ type: "member.joined", roomId: room.id, seq: 1, member: { user: guest, role: "member" } }]);
    // A member coming back by the link gets the room and takes no use.
    expect(await deps.services.rooms.joinByLink(guest.id, link.token)).toMatchObject({ id: room.id });
    const listed = await callerFor(deps.services, owner.id).rooms.inviteLinks({ roomId: room.id });
    expect(listed).toEqual([
      { id: link.id, roomId: room.id, createdBy: owner, createdAt: expect.any(String), expiresAt: link.expiresAt, maxUses: 5, uses: 1, revokedAt: null },
    ]);
    expect(JSON.stringify(listed)).not.toContain(link.token);
  });

  it("refuses unknown, revoked, expired and used-up links with one answer", async () => {
    const [owner, first, second, third] = await createUsers(deps, 4);
    const room = await privateRoomOf(owner);
    const asFirst = callerFor(deps.services, first.id);
    expect(await trpcError(asFirst.rooms.joinByLink({ token: newOpaqueToken() }))).toMatchObject({ code: "FORBIDDEN", message: INVITE_LINK.message, cause: { reason: "INVITE_LINK" } });
    expect(await inputIssues(asFirst.rooms.joinByLink({ token: "short" }))).toEqual(["not an invite link token"]);

    const once = await deps.services.rooms.createInviteLink(owner.id, { roomId: room.id, expiresInSeconds: 3600, maxUses: 1 });
    await deps.services.rooms.joinByLink(first.id, once.token);
    expect(await domainError(deps.services.rooms.joinByLink(second.id, once.token))).toMatchObject(INVITE_LINK);

    const revoked = await deps.services.rooms.createInviteLink(owner.id, { roomId: room.id, expiresInSeconds: 3600 });
    await callerFor(deps.services, owner.id).rooms.revokeInviteLink({ linkId: revoked.id });
    await deps.services.rooms.revokeInviteLink(owner.id, revoked.id); // again: nothing changes
    expect(await domainError(deps.services.rooms.joinByLink(second.id, revoked.token))).toMatchObject(INVITE_LINK);

    const expiring = await deps.services.rooms.createInviteLink(owner.id, { roomId: room.id, expiresInSeconds: 300 });
    deps.clock.advance(301_000);
    expect(await domainError(deps.services.rooms.joinByLink(third.id, expiring.token))).toMatchObject(INVITE_LINK);
    for (const user of [second, third]) expect(await domainError(deps.services.rooms.requireMember(user.id, room.id))).toMatchObject(NOT_A_MEMBER);
  });

  it("shows where a usable link leads before joining (name, kind, members, whether I am in), and refuses the rest alike", async () => {
    const [owner, guest, later] = await createUsers(deps, 3);
    const room = await privateRoomOf(owner);
    const link = await deps.services.rooms.createInviteLink(owner.id, { roomId: room.id, expiresInSeconds: 3600, maxUses: 1 });
    const asGuest = callerFor(deps.services, guest.id);
    expect(await asGuest.rooms.inviteLinkRoom({ token: link.token })).toEqual({ id: room.id, kind: "private", name: room.name, memberCount: 1, member: false });
    expect(await deps.services.rooms.inviteLinkRoom(owner.id, link.token)).toMatchObject({ member: true });
    await deps.services.rooms.joinByLink(guest.id, link.token);
    // Used up: the look is refused as the join would be.
    expect(await domainError(deps.services.rooms.inviteLinkRoom(later.id, link.token))).toMatchObject(INVITE_LINK);
    expect(await trpcError(callerFor(deps.services, later.id).rooms.inviteLinkRoom({ token: newOpaqueToken() }))).toMatchObject({ code: "FORBIDDEN", cause: { reason: "INVITE_LINK" } });
  });

  it("gives the last use to exactly one of many racing joins", async () => {
    const [owner, ...racers] = await createUsers(deps, 5);
    const room = await privateRoomOf(owner);
    const link = await deps.services.rooms.createInviteLink(owner.id, { roomId: room.id, maxUses: 1 });
    const outcomes = await Promise.allSettled(racers.map((user) => deps.services.rooms.joinByLink(user.id, link.token)));
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
    for (const outcome of outcomes) if (outcome.status === "rejected") expect(outcome.reason).toMatchObject(INVITE_LINK);
  });

  it("keeps out the banned (reason BANNED) and refuses a full room (reason ROOM_FULL), taking no use either way", async () => {
    const [owner, banned, second, third, late] = await createUsers(deps, 5);
    const room = await privateRoomOf(owner);
    await deps.database.db.insert(roomBans).values({ roomId: room.id, userId: banned.id, bannedBy: owner.id });
    const link = await deps.services.rooms.createInviteLink(owner.id, { roomId: room.id });
    expect(await domainError(deps.services.rooms.joinByLink(banned.id, link.token))).toMatchObject({ code: "FORBIDDEN", reason: "BANNED" });
    await deps.services.rooms.joinByLink(second.id, link.token);
    await deps.services.rooms.joinByLink(third.id, link.token);
    expect(await domainError(deps.services.rooms.joinByLink(late.id, link.token))).toMatchObject({ code: "FORBIDDEN", reason: "ROOM_FULL" });
    const [listed] = await deps.services.rooms.inviteLinks(owner.id, room.id);
    expect(listed?.uses).toBe(2);
  });

  it("is for private rooms and groups: BAD_REQUEST for public and direct rooms", async () => {
    const [owner, friend] = await createUsers(deps, 2);
    const open = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
    const direct = await deps.services.rooms.openDirect(owner.id, friend.id);
    expect(await domainError(deps.services.rooms.createInviteLink(owner.id, { roomId: open.id, expiresInSeconds: 3600 }))).toMatchObject({
      code: "BAD_REQUEST",
      message: "public rooms need no invite link: anyone may join them",
    });
    expect(await domainError(deps.services.rooms.createInviteLink(owner.id, { roomId: direct.id, expiresInSeconds: 3600 }))).toMatchObject({ code: "BAD_REQUEST" });
    const group = await deps.services.rooms.createGroup(owner.id, { userIds: [friend.id, (await createUsers(deps, 1))[0].id] });
    expect(await deps.services.rooms.createInviteLink(owner.id, { roomId: group.id, expiresInSeconds: 3600 })).toMatchObject({ maxUses: null });
  });

  it("is made by whoever may invite; listed in full to moderators, to others their own; revoked by its creator or moderators", async () => {
    const [owner, moderator, member, outsider] = await createUsers(deps, 4);
    const room = await privateRoomOf(owner);
    for (const user of [moderator, member]) await inviteAndAccept(deps, owner.id, room.id, user.id);
    await setRole(deps, room.id, moderator.id, "moderator");
    const asMember = callerFor(deps.services, member.id);
    expect(await trpcError(asMember.rooms.createInviteLink({ roomId: room.id }))).toMatchObject({
      code: "FORBIDDEN",
      message: "only owners, admins and moderators can invite",
    });
    expect(await trpcError(callerFor(deps.services, outsider.id).rooms.createInviteLink({ roomId: room.id }))).toMatchObject(NOT_A_MEMBER);
    expect(await trpcError(callerFor(deps.services, outsider.id).rooms.inviteLinks({ roomId: room.id }))).toMatchObject(NOT_A_MEMBER);
    expect(await inputIssues(asMember.rooms.createInviteLink({ roomId: room.id, expiresInSeconds: 10 }))).toHaveLength(1);
    expect(await inputIssues(asMember.rooms.createInviteLink({ roomId: room.id, maxUses: 1001 }))).toHaveLength(1);
    await deps.database.db.update(rooms).set({ membersCanInvite: true }).where(eq(rooms.id, room.id));
    const ownersLink = await deps.services.rooms.createInviteLink(owner.id, { roomId: room.id, expiresInSeconds: 3600 });
    const membersLink = await asMember.rooms.createInviteLink({ roomId: room.id });
    expect((await asMember.rooms.inviteLinks({ roomId: room.id })).map((link) => link.id)).toEqual([membersLink.id]);
    const seenByModerator = await callerFor(deps.services, moderator.id).rooms.inviteLinks({ roomId: room.id });
    expect(seenByModerator.map((link) => link.id).sort()).toEqual([ownersLink.id, membersLink.id].sort());
    expect(await trpcError(asMember.rooms.revokeInviteLink({ linkId: ownersLink.id }))).toMatchObject({ code: "FORBIDDEN" });
    expect(await trpcError(callerFor(deps.services, outsider.id).rooms.revokeInviteLink({ linkId: ownersLink.id }))).toMatchObject({
      code: "NOT_FOUND",
      message: "no such invite link",
    });
    await asMember.rooms.revokeInviteLink({ linkId: membersLink.id });
    await callerFor(deps.services, moderator.id).rooms.revokeInviteLink({ linkId: ownersLink.id });
    const revoked = await deps.services.rooms.inviteLinks(owner.id, room.id);
    expect(revoked.every((link) => link.revokedAt !== null)).toBe(true);
  });
});

describe.each(databaseKinds)("joining by link, rate-limited, on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind, { rateLimits: { joinByLinkPerUser: { capacity: 3, periodSeconds: 600 } } });
  });
  afterAll(async () => {
    await deps?.close();
  });

  it("charges every attempt, valid or not, so tokens cannot be guessed at speed", async () => {
    const [owner, guesser] = await createUsers(deps, 2);
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "private" });
    const link = await deps.services.rooms.createInviteLink(owner.id, { roomId: room.id, expiresInSeconds: 3600 });
    for (let i = 0; i < 3; i++) expect(await domainError(deps.services.rooms.joinByLink(guesser.id, newOpaqueToken()))).toMatchObject(INVITE_LINK);
    expect(await domainError(deps.services.rooms.joinByLink(guesser.id, link.token))).toMatchObject({ code: "TOO_MANY_REQUESTS" });
  });
});
