import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoomAuditEntry } from "../../src/domain/rooms/room-audit.ts";
import type { MemberRole, Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, roomWithRoles, token } from "./room-fixtures.ts";
import { callerFor, domainError, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

const MUTED = { code: "FORBIDDEN", reason: "MUTED" } as const;

/**
 * rooms.mute, rooms.unmute, rooms.mutes: a muted member still reads, but may not react, take a reaction back, edit
 * or type until the mute expires or is lifted (the send gate is the group commit's: message-commits). Each is a
 * logged room event (`member.muted`, `member.unmuted`) and an audit entry.
 */
describe.each(databaseKinds)("room mutes on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const api = (user: UserPublic) => callerFor(deps.services, user.id);

  const roomWith = (owner: UserPublic, ...others: [UserPublic, MemberRole][]): Promise<Room> => roomWithRoles(deps, owner, "public", others);

  const send = async (user: UserPublic, room: Room, body: string) =>
    (await deps.services.messages.send(user.id, { roomId: room.id, clientMsgId: `m-${token()}`, body })).message;

  async function audit(room: Room, reader: UserPublic): Promise<RoomAuditEntry[]> {
    return (await api(reader).rooms.auditLog({ roomId: room.id, limit: 100 })).items;
  }

  it("is a member.muted event with until and byUserId, replayed from the log, and an audit entry with the reason", async () => {
    const [owner, mod, ann] = await createUsers(deps, 3);
    const room = await roomWith(owner, [mod, "moderator"], [ann, "member"]);
    const events = await deps.recordEvents({ roomId: room.id });
    await api(mod).rooms.mute({ roomId: room.id, userId: ann.id, reason: "cool down", durationSeconds: 600 });
    await settle();
    const until = new Date(deps.clock.now().getTime() + 600_000).toISOString();
    const muted = { type: "member.muted", roomId: room.id, seq: room.lastSeq + 1, userId: ann.id, until, byUserId: mod.id };
    expect(events).toEqual([muted]);
    await deps.recentEvents.forget(room.id);
    expect((await api(owner).rooms.events({ roomId: room.id, after: room.lastSeq })).events).toEqual([muted]);
    expect((await audit(room, owner))[0]).toMatchObject({
      action: "member.muted",
      actor: mod,
      target: { user: ann },
      reason: "cool down",
      data: { expiresAt: until },
      seq: room.lastSeq + 1,
    });
    expect((await api(mod).rooms.mutes({ roomId: room.id, limit: 10 })).items).toEqual([
      { user: ann, byUserId: mod.id, reason: "cool down", expiresAt: until, createdAt: expect.any(String) },
    ]);
  });

  it("refuses a muted member's reactions, unreactions, edits and typing, while they still read and may delete their own words", async () => {
    const [owner, ann] = await createUsers(deps, 2);
    const room = await roomWith(owner, [ann, "member"]);
    const mine = await send(ann, room, "before the mute");
    const theirs = await send(owner, room, "hello");
    await api(ann).messages.react({ messageId: theirs.id, emoji: "👍" });
    await api(owner).rooms.mute({ roomId: room.id, userId: ann.id });
    const before = (await deps.services.rooms.get(owner.id, room.id)).lastSeq;
    expect((await trpcError(api(ann).messages.react({ messageId: theirs.id, emoji: "🎉" }))).cause).toMatchObject(MUTED);
    expect((await trpcError(api(ann).messages.unreact({ messageId: theirs.id, emoji: "👍" }))).cause).toMatchObject(MUTED);
    expect((await trpcError(api(ann).messages.edit({ messageId: mine.id, body: "edited" }))).cause).toMatchObject(MUTED);
    expect(await domainError(deps.services.presence.typing(ann.id, room.id, true, "socket-1"))).toMatchObject(MUTED);
    expect((await deps.services.rooms.get(owner.id, room.id)).lastSeq).toBe(before);
    // Stopping typing only clears an indicator.
    await deps.services.presence.typing(ann.id, room.id, false, "socket-1");
    expect((await api(ann).messages.list({ roomId: room.id, limit: 10 })).messages.map((message) => message.id)).toEqual(
      expect.arrayContaining([mine.id, theirs.id]),
    );
    await api(ann).messages.delete({ messageId: mine.id });
  });

  it("lifts by itself when it expires (by the clock), and at once on rooms.unmute with a member.unmuted event", async () => {
    const [owner, timed, forever] = await createUsers(deps, 3);
    const room = await roomWith(owner, [timed, "member"], [forever, "member"]);
    const message = await send(owner, room, "react to me");
    await api(owner).rooms.mute({ roomId: room.id, userId: timed.id, durationSeconds: 60 });
    await api(owner).rooms.mute({ roomId: room.id, userId: forever.id });
    deps.clock.advance(61_000);
    await api(timed).messages.react({ messageId: message.id, emoji: "👍" });
    await deps.services.presence.typing(timed.id, room.id, true, "socket-t");
    expect((await trpcError(api(forever).messages.react({ messageId: message.id, emoji: "👍" }))).cause).toMatchObject(MUTED);
    // Expired mutes are not listed.
    expect((await api(owner).rooms.mutes({ roomId: room.id, limit: 10 })).items.map((mute) => mute.user.id)).toEqual([forever.id]);
    const events = await deps.recordEvents({ roomId: room.id });
    const seq = (await deps.services.rooms.get(owner.id, room.id)).lastSeq;
    await api(owner).rooms.unmute({ roomId: room.id, userId: forever.id });
    await settle();
    expect(events).toEqual([{ type: "member.unmuted", roomId: room.id, seq: seq + 1, userId: forever.id, byUserId: owner.id }]);
    expect((await audit(room, owner))[0]).toMatchObject({ action: "member.unmuted", actor: owner, target: { user: forever }, data: null, seq: seq + 1 });
    await api(forever).messages.react({ messageId: message.id, emoji: "👍" });
    expect(await trpcError(api(owner).rooms.unmute({ roomId: room.id, userId: forever.id }))).toMatchObject({
      code: "NOT_FOUND",
      message: "that user is not muted in this room",
    });
    expect(await trpcError(api(owner).rooms.unmute({ roomId: room.id, userId: timed.id }))).toMatchObject({ code: "NOT_FOUND" });
  });

  it("mutes members only, by rank, never yourself nor in direct rooms; unmutes and lists for moderators and up", async () => {
    const [owner, admin, mod, otherMod, ann, bob, outsider] = await createUsers(deps, 7);
    const room = await roomWith(owner, [admin, "admin"], [mod, "moderator"], [otherMod, "moderator"], [ann, "member"], [bob, "member"]);
    const mute = (by: UserPublic, userId: string) => api(by).rooms.mute({ roomId: room.id, userId });
    expect(await trpcError(mute(ann, bob.id))).toMatchObject({ code: "FORBIDDEN", message: "only owners, admins and moderators can mute members" });
    expect(await trpcError(mute(mod, otherMod.id))).toMatchObject({ code: "FORBIDDEN", message: "moderators cannot mute moderators" });
    expect(await trpcError(mute(admin, owner.id))).toMatchObject({ code: "FORBIDDEN", message: "admins cannot mute owners" });
    expect(await trpcError(mute(mod, mod.id))).toMatchObject({ code: "BAD_REQUEST", message: "you cannot mute yourself" });
    expect(await trpcError(mute(mod, outsider.id))).toMatchObject({ code: "NOT_FOUND", message: "that user is not a member of this room" });
    expect(await trpcError(mute(outsider, ann.id))).toMatchObject(NOT_A_MEMBER);
    const direct = await deps.services.rooms.openDirect(ann.id, bob.id);
    expect(await trpcError(api(ann).rooms.mute({ roomId: direct.id, userId: bob.id }))).toMatchObject({ code: "BAD_REQUEST" });
    await mute(admin, ann.id);
    expect(await trpcError(api(bob).rooms.unmute({ roomId: room.id, userId: ann.id }))).toMatchObject({ code: "FORBIDDEN" });
    expect(await trpcError(api(bob).rooms.mutes({ roomId: room.id, limit: 10 }))).toMatchObject({ code: "FORBIDDEN" });
    expect(await trpcError(api(outsider).rooms.mutes({ roomId: room.id, limit: 10 }))).toMatchObject(NOT_A_MEMBER);
    // Only the one mute happened.
    expect((await audit(room, owner)).map((entry) => entry.action)).toEqual(["member.muted"]);
  });
});
