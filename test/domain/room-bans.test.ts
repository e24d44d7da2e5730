import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoomAuditEntry } from "../../src/domain/rooms/room-audit.ts";
import type { MemberRole, Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { roomInvitations } from "../../src/infra/db/schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, roomWithRoles, token } from "./room-fixtures.ts";
import { callerFor, domainError, inputIssues, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

const BANNED = { code: "FORBIDDEN", reason: "BANNED" } as const;
const HOUR = 3600;

/**
 * rooms.ban, rooms.unban, rooms.bans and rooms.kick's way back: a ban removes a member (`member.left` reason
 * "banned", their sockets drop the room) and keeps every way in shut until it expires or is lifted; a kick only
 * removes. Each act is audited in its own transaction.
 */
describe.each(databaseKinds)("room bans on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const api = (user: UserPublic) => callerFor(deps.services, user.id);

  const roomWith = (owner: UserPublic, ...others: [UserPublic, MemberRole][]): Promise<Room> => roomWithRoles(deps, owner, "public", others);

  const memberIds = async (room: Room, reader: UserPublic): Promise<string[]> =>
    (await deps.services.rooms.members(reader.id, { roomId: room.id, limit: 200 })).items.map((member) => member.user.id);

  async function audit(room: Room, reader: UserPublic): Promise<RoomAuditEntry[]> {
    return (await api(reader).rooms.auditLog({ roomId: room.id, limit: 100 })).items;
  }

  describe("ban", () => {
    it("removes a member with member.left reason banned at the room's next seq, drops their sockets, and audits reason and expiry", async () => {
      const [owner, mod, ann] = await createUsers(deps, 3);
      const room = await roomWith(owner, [mod, "moderator"], [ann, "member"]);
      const roomEvents = await deps.recordEvents({ roomId: room.id });
      const annEvents = await deps.recordEvents({ userId: ann.id });
      await api(mod).rooms.ban({ roomId: room.id, userId: ann.id, reason: "spamming links", durationSeconds: HOUR });
      await settle();
      const left = { type: "member.left", roomId: room.id, seq: room.lastSeq + 1, userId: ann.id, reason: "banned" };
      expect(roomEvents).toEqual([left]);
      expect(annEvents).toEqual([{ type: "room.membership", roomId: room.id, membership: "banned", room: { ...room, lastSeq: room.lastSeq + 1 } }]);
      expect(await memberIds(room, owner)).not.toContain(ann.id);
      const expiresAt = new Date(deps.clock.now().getTime() + HOUR * 1000).toISOString();
      expect((await audit(room, owner))[0]).toMatchObject({
        action: "member.banned",
        actor: mod,
        target: { user: ann },
        reason: "spamming links",
        data: { role: "member", expiresAt },
        seq: room.lastSeq + 1,
      });
      // Replayed from Postgres like a message, with its reason.
      await deps.recentEvents.forget(room.id);
      expect((await api(owner).rooms.events({ roomId: room.id, after: room.lastSeq })).events).toEqual([left]);
      // Out: what a non-member gets.
      expect(await domainError(deps.services.messages.send(ann.id, { roomId: room.id, clientMsgId: `b-${token()}`, body: "hi" }))).toMatchObject(NOT_A_MEMBER);
    });

    it("keeps a banned user out of a public room (join) and out of invitations; a kicked one rejoins at once", async () => {
      const [owner, banned, kicked] = await createUsers(deps, 3);
      const room = await roomWith(owner, [banned, "member"], [kicked, "member"]);
      await api(owner).rooms.ban({ roomId: room.id, userId: banned.id });
      await api(owner).rooms.kick({ roomId: room.id, userId: kicked.id });
      expect((await trpcError(api(banned).rooms.join({ roomId: room.id }))).cause).toMatchObject(BANNED);
      expect((await trpcError(api(owner).rooms.invite({ roomId: room.id, userId: banned.id }))).cause).toMatchObject(BANNED);
      await api(kicked).rooms.join({ roomId: room.id });
      expect(await memberIds(room, owner)).toEqual(expect.arrayContaining([owner.id, kicked.id]));
      expect(await memberIds(room, owner)).not.toContain(banned.id);
    });

    it("bans a non-member before they come in: no room event, an audit entry without seq, and they cannot join", async () => {
      const [owner, stranger] = await createUsers(deps, 2);
      const room = await roomWith(owner);
      await api(owner).rooms.ban({ roomId: room.id, userId: stranger.id, reason: "known troll" });
      expect((await deps.services.rooms.get(owner.id, room.id)).lastSeq).toBe(room.lastSeq);
      expect((await audit(room, owner))[0]).toMatchObject({ action: "member.banned", target: { user: stranger }, data: { role: null, expiresAt: null }, seq: null });
      expect((await domainError(deps.services.rooms.join(stranger.id, room.id))).reason).toBe("BANNED");
    });

    it("never lets a join racing a ban win: whichever takes the room's lock first, the user ends up out", async () => {
      const [owner, ...racers] = await createUsers(deps, 6);
      const room = await roomWith(owner);
      await Promise.allSettled(
        racers.flatMap((racer) => [deps.services.rooms.join(racer.id, room.id), deps.services.rooms.ban(owner.id, { roomId: room.id, userId: racer.id })]),
      );
      expect(await memberIds(room, owner)).toEqual([owner.id]);
      // Every join that won was followed by its member.left reason banned; none came after a ban.
      const { events } = await api(owner).rooms.events({ roomId: room.id, after: room.lastSeq });
      for (const racer of racers) {
        const mine = events.filter((event) => "userId" in event ? event.userId === racer.id : event.type === "member.joined" && event.member.user.id === racer.id);
        expect(mine.map((event) => event.type === "member.left" ? `left:${event.reason}` : event.type)).toEqual(
          mine.length === 0 ? [] : ["member.joined", "left:banned"],
        );
      }
    });

    it("deletes the banned user's pending invitations to the room", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner);
      await deps.database.db.insert(roomInvitations).values({ roomId: room.id, inviteeId: ann.id, inviterId: owner.id });
      await api(owner).rooms.ban({ roomId: room.id, userId: ann.id });
      const left = await deps.database.db
        .select()
        .from(roomInvitations)
        .where(and(eq(roomInvitations.roomId, room.id), eq(roomInvitations.inviteeId, ann.id)));
      expect(left).toEqual([]);
    });

    it("admits again once the ban expires (by the clock), or once a moderator lifts it", async () => {
      const [owner, timed, forever] = await createUsers(deps, 3);
      const room = await roomWith(owner, [timed, "member"], [forever, "member"]);
      await api(owner).rooms.ban({ roomId: room.id, userId: timed.id, durationSeconds: 60 });
      await api(owner).rooms.ban({ roomId: room.id, userId: forever.id });
      deps.clock.advance(61_000);
      await api(timed).rooms.join({ roomId: room.id });
      expect((await domainError(deps.services.rooms.join(forever.id, room.id))).reason).toBe("BANNED");
      await api(owner).rooms.unban({ roomId: room.id, userId: forever.id });
      expect((await audit(room, owner))[0]).toMatchObject({ action: "member.unbanned", actor: owner, target: { user: forever }, data: null, seq: null });
      await api(forever).rooms.join({ roomId: room.id });
      expect(await memberIds(room, owner)).toEqual(expect.arrayContaining([timed.id, forever.id]));
    });

    it("replaces reason and expiry when banning again; unban is NOT_FOUND when no ban is in force (expired ones included)", async () => {
      const [owner, ann, bob] = await createUsers(deps, 3);
      const room = await roomWith(owner);
      await api(owner).rooms.ban({ roomId: room.id, userId: ann.id, reason: "first", durationSeconds: 60 });
      await api(owner).rooms.ban({ roomId: room.id, userId: ann.id, reason: "second" });
      const { items } = await api(owner).rooms.bans({ roomId: room.id, limit: 10 });
      expect(items).toEqual([{ user: ann, byUserId: owner.id, reason: "second", expiresAt: null, createdAt: expect.any(String) }]);
      expect(await trpcError(api(owner).rooms.unban({ roomId: room.id, userId: bob.id }))).toMatchObject({ code: "NOT_FOUND" });
      await api(owner).rooms.ban({ roomId: room.id, userId: bob.id, durationSeconds: 60 });
      deps.clock.advance(61_000);
      expect(await trpcError(api(owner).rooms.unban({ roomId: room.id, userId: bob.id }))).toMatchObject({
        code: "NOT_FOUND",
        message: "that user is not banned from this room",
      });
    });

    it("refuses members, peers and superiors by rank, yourself, direct rooms, unknown users and outsiders", async () => {
      const [owner, admin, mod, otherMod, ann, bob, outsider] = await createUsers(deps, 7);
      const room = await roomWith(owner, [admin, "admin"], [mod, "moderator"], [otherMod, "moderator"], [ann, "member"], [bob, "member"]);
      const ban = (by: UserPublic, userId: string) => api(by).rooms.ban({ roomId: room.id, userId });
      expect(await trpcError(ban(ann, bob.id))).toMatchObject({ code: "FORBIDDEN", message: "only owners, admins and moderators can ban members" });
      expect(await trpcError(ban(mod, otherMod.id))).toMatchObject({ code: "FORBIDDEN", message: "moderators cannot ban moderators" });
      expect(await trpcError(ban(mod, admin.id))).toMatchObject({ code: "FORBIDDEN", message: "moderators cannot ban admins" });
      expect(await trpcError(ban(admin, owner.id))).toMatchObject({ code: "FORBIDDEN", message: "admins cannot ban owners" });
      expect(await trpcError(ban(mod, mod.id))).toMatchObject({ code: "BAD_REQUEST", message: "you cannot ban yourself" });
      expect(await trpcError(ban(mod, crypto.randomUUID()))).toMatchObject({ code: "NOT_FOUND", message: "no such user" });
      expect(await trpcError(ban(outsider, ann.id))).toMatchObject(NOT_A_MEMBER);
      const direct = await deps.services.rooms.openDirect(ann.id, bob.id);
      expect(await trpcError(api(ann).rooms.ban({ roomId: direct.id, userId: bob.id }))).toMatchObject({ code: "BAD_REQUEST" });
      // Nothing happened: no event, no entry, everyone still in.
      expect((await deps.services.rooms.get(owner.id, room.id)).lastSeq).toBe(room.lastSeq);
      expect(await audit(room, owner)).toEqual([]);
      expect(await memberIds(room, owner)).toHaveLength(6);
    });

    it("refuses a reason over 500 characters or with control characters, and durations outside a minute to a year", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, [ann, "member"]);
      const ban = (extra: Record<string, unknown>) => api(owner).rooms.ban({ roomId: room.id, userId: ann.id, ...extra } as never);
      expect(await inputIssues(ban({ reason: "x".repeat(501) }))).toEqual(["reason must be at most 500 characters"]);
      expect((await inputIssues(ban({ reason: "bad\u0000" }))).length).toBe(1);
      expect((await inputIssues(ban({ durationSeconds: 59 }))).length).toBe(1);
      expect((await inputIssues(ban({ durationSeconds: 31_536_001 }))).length).toBe(1);
      expect((await inputIssues(ban({ until: "forever" }))).length).toBe(1);
    });
  });

  describe("bans", () => {
    it("lists the bans in force newest first, in pages, for moderators and up only", async () => {
      const [owner, mod, member, a, b, c, expired] = await createUsers(deps, 7);
      const room = await roomWith(owner, [mod, "moderator"], [member, "member"]);
      await api(owner).rooms.ban({ roomId: room.id, userId: expired.id, durationSeconds: 60 });
      deps.clock.advance(61_000);
      for (const user of [a, b, c]) await api(mod).rooms.ban({ roomId: room.id, userId: user.id });
      const first = await api(mod).rooms.bans({ roomId: room.id, limit: 2 });
      expect(first.items.map((ban) => ban.user.id)).toEqual([c.id, b.id]);
      expect(first.nextCursor).not.toBeNull();
      const second = await api(mod).rooms.bans({ roomId: room.id, limit: 2, cursor: first.nextCursor ?? undefined });
      expect(second).toEqual({ items: [expect.objectContaining({ user: a, byUserId: mod.id, reason: null, expiresAt: null })], nextCursor: null });
      expect(await trpcError(api(member).rooms.bans({ roomId: room.id, limit: 10 }))).toMatchObject({ code: "FORBIDDEN" });
      expect(await trpcError(api(a).rooms.bans({ roomId: room.id, limit: 10 }))).toMatchObject(NOT_A_MEMBER);
    });
  });
});

describe.each(databaseKinds)("moderation and role-change rates on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind, {
      rateLimits: { moderationPerUser: { capacity: 2, periodSeconds: 600 }, roleChangesPerUser: { capacity: 2, periodSeconds: 600 } },
    });
  });
  afterAll(async () => {
    await deps?.close();
  });

  it("count room updates in the same bucket (each is an event to every member)", async () => {
    const [owner] = await createUsers(deps, 1);
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
    await deps.services.rooms.update(owner.id, { roomId: room.id, name: "one" });
    await deps.services.rooms.update(owner.id, { roomId: room.id, settings: { slowModeSeconds: 5 } });
    const refused = await domainError(deps.services.rooms.update(owner.id, { roomId: room.id, name: "three" }));
    expect(refused).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    expect((await deps.services.rooms.get(owner.id, room.id)).name).toBe("one");
  });

  it("share one moderation bucket per moderator between ban, mute and kick", async () => {
    const [owner, a, b, c] = await createUsers(deps, 4);
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
    for (const user of [a, b, c]) await deps.services.rooms.join(user.id, room.id);
    await deps.services.rooms.mute(owner.id, { roomId: room.id, userId: a.id });
    await deps.services.rooms.kick(owner.id, { roomId: room.id, userId: b.id });
    const refused = await domainError(deps.services.rooms.ban(owner.id, { roomId: room.id, userId: c.id }));
    expect(refused).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
  });

  it("limit setRole and transferOwnership together per user", async () => {
    const [owner, ann] = await createUsers(deps, 2);
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
    await deps.services.rooms.join(ann.id, room.id);
    await deps.services.rooms.setRole(owner.id, { roomId: room.id, userId: ann.id, role: "moderator" });
    await deps.services.rooms.setRole(owner.id, { roomId: room.id, userId: ann.id, role: "admin" });
    const refused = await domainError(deps.services.rooms.transferOwnership(owner.id, { roomId: room.id, userId: ann.id }));
    expect(refused).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    const members = await deps.services.rooms.members(owner.id, { roomId: room.id, limit: 10 });
    expect(members.items.find((member) => member.user.id === owner.id)?.role).toBe("owner");
  });
});
