import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { messages, roomEvents, roomMembers, rooms } from "../../src/infra/db/schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, inviteAndAccept, setRole, token } from "./room-fixtures.ts";
import { callerFor, domainError, inputIssues, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

describe.each(databaseKinds)("room membership on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const privateRoomOf = (owner: UserPublic): Promise<Room> =>
    deps.services.rooms.create(owner.id, { name: token(), kind: "private" });

  describe("leave", () => {
    it("removes the member and announces it to the room and to their sockets", async () => {
      const [owner, member] = await createUsers(deps, 2);
      const room = await privateRoomOf(owner);
      await inviteAndAccept(deps, owner.id, room.id, member.id);
      const roomEvents = await deps.recordEvents({ roomId: room.id });
      const userEvents = await deps.recordEvents({ userId: member.id });
      await callerFor(deps.services, member.id).rooms.leave({ roomId: room.id });
      await settle();
      expect(roomEvents).toEqual([{ type: "member.left", roomId: room.id, seq: 2, userId: member.id, reason: "left" }]);
      expect(userEvents).toEqual([{ type: "room.membership", roomId: room.id, membership: "left", room: { ...room, lastSeq: 2 } }]);
      expect(await domainError(deps.services.rooms.get(member.id, room.id))).toMatchObject(NOT_A_MEMBER);
      expect(await domainError(deps.services.rooms.leave(member.id, room.id))).toMatchObject(NOT_A_MEMBER);
    });

    it("keeps the last owner of a room with other members until they transfer ownership", async () => {
      const [owner, member] = await createUsers(deps, 2);
      const room = await privateRoomOf(owner);
      await inviteAndAccept(deps, owner.id, room.id, member.id);
      const refused = await trpcError(callerFor(deps.services, owner.id).rooms.leave({ roomId: room.id }));
      expect(refused).toMatchObject({
        code: "CONFLICT",
        message: "you are the last owner: transfer ownership (rooms.transferOwnership) before leaving",
      });
      expect(refused.cause).toMatchObject({ reason: "LAST_OWNER" });
      expect(await deps.services.rooms.requireMember(owner.id, room.id)).toBe("owner");
      await deps.services.rooms.transferOwnership(owner.id, { roomId: room.id, userId: member.id });
      await deps.services.rooms.leave(owner.id, room.id);
      expect(await deps.services.rooms.requireMember(member.id, room.id)).toBe("owner");
    });

    it("lets one of several owners leave", async () => {
      const [owner, coOwner, member] = await createUsers(deps, 3);
      const room = await privateRoomOf(owner);
      for (const user of [coOwner, member]) await inviteAndAccept(deps, owner.id, room.id, user.id);
      await setRole(deps, room.id, coOwner.id, "owner");
      await deps.services.rooms.leave(owner.id, room.id);
      const page = await deps.services.rooms.members(member.id, { roomId: room.id, limit: 10 });
      expect(page.items.map((item) => [item.user.id, item.role])).toEqual([[coOwner.id, "owner"], [member.id, "member"]]);
    });

    it("deletes the room, its messages and its log when the last member leaves, telling their sockets it is gone", async () => {
      const [owner, member, passerby] = await createUsers(deps, 3);
      const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
      await deps.services.rooms.join(member.id, room.id);
      await deps.services.messages.send(member.id, { roomId: room.id, clientMsgId: `g-${token()}`, body: "soon gone" });
      await deps.services.rooms.leave(member.id, room.id);
      const ownerEvents = await deps.recordEvents({ userId: owner.id });
      await callerFor(deps.services, owner.id).rooms.leave({ roomId: room.id });
      await settle();
      expect(ownerEvents).toEqual([{ type: "room.membership", roomId: room.id, membership: "left", room: null }]);
      expect(await deps.database.db.select({ id: rooms.id }).from(rooms).where(eq(rooms.id, room.id))).toEqual([]);
      expect(await deps.database.db.select({ id: messages.id }).from(messages).where(eq(messages.roomId, room.id))).toEqual([]);
      expect(await deps.database.db.select({ seq: roomEvents.seq }).from(roomEvents).where(eq(roomEvents.roomId, room.id))).toEqual([]);
      // A public room no longer: nobody finds or joins it.
      expect(await domainError(deps.services.rooms.join(passerby.id, room.id))).toMatchObject(NOT_A_MEMBER);
      expect((await deps.services.rooms.discover(passerby.id, { query: room.name, limit: 10 })).items).toEqual([]);
      expect(await deps.services.rooms.roomIdsOf(owner.id)).not.toContain(room.id);
    });
  });

  describe("kick", () => {
    it("lets an owner remove a member, who is told and loses access", async () => {
      const [owner, member] = await createUsers(deps, 2);
      const room = await privateRoomOf(owner);
      await inviteAndAccept(deps, owner.id, room.id, member.id);
      const roomEvents = await deps.recordEvents({ roomId: room.id });
      const userEvents = await deps.recordEvents({ userId: member.id });
      await callerFor(deps.services, owner.id).rooms.kick({ roomId: room.id, userId: member.id });
      await settle();
      expect(roomEvents).toEqual([{ type: "member.left", roomId: room.id, seq: 2, userId: member.id, reason: "removed" }]);
      expect(userEvents).toEqual([{ type: "room.membership", roomId: room.id, membership: "removed", room: { ...room, lastSeq: 2 } }]);
      const send = deps.services.messages.send(member.id, { roomId: room.id, clientMsgId: `k-${token()}`, body: "still here?" });
      expect(await domainError(send)).toMatchObject(NOT_A_MEMBER);
    });

    it("lets moderators remove members only, admins members and moderators, owners anyone; plain members nobody", async () => {
      const [owner, coOwner, admin, otherAdmin, moderator, otherModerator, member, bystander] = await createUsers(deps, 8);
      const room = await privateRoomOf(owner);
      const ranks = [[coOwner, "owner"], [admin, "admin"], [otherAdmin, "admin"], [moderator, "moderator"], [otherModerator, "moderator"], [member, "member"], [bystander, "member"]] as const;
      for (const [user, role] of ranks) {
        await inviteAndAccept(deps, owner.id, room.id, user.id);
        if (role !== "member") await setRole(deps, room.id, user.id, role);
      }
      const kick = (by: UserPublic, target: UserPublic) => callerFor(deps.services, by.id).rooms.kick({ roomId: room.id, userId: target.id });
      expect(await trpcError(kick(member, bystander))).toMatchObject({
        code: "FORBIDDEN",
        message: "only owners, admins and moderators can remove members",
      });
      for (const [target, message] of [
        [otherModerator, "moderators cannot remove moderators"],
        [admin, "moderators cannot remove admins"],
        [owner, "moderators cannot remove owners"],
      ] as const) {
        expect(await trpcError(kick(moderator, target))).toMatchObject({ code: "FORBIDDEN", message });
      }
      expect(await trpcError(kick(admin, otherAdmin))).toMatchObject({ code: "FORBIDDEN", message: "admins cannot remove admins" });
      expect(await trpcError(kick(admin, owner))).toMatchObject({ code: "FORBIDDEN", message: "admins cannot remove owners" });
      await kick(moderator, member);
      expect(await trpcError(kick(moderator, member))).toMatchObject({ code: "NOT_FOUND" });
      expect(await trpcError(kick(moderator, moderator))).toMatchObject({ code: "BAD_REQUEST" });
      await kick(admin, otherModerator);
      await kick(owner, otherAdmin);
      await kick(owner, coOwner);
      const page = await deps.services.rooms.members(owner.id, { roomId: room.id, limit: 100 });
      expect(page.items.map((item) => item.user.id).sort()).toEqual([owner.id, admin.id, moderator.id, bystander.id].sort());
    });

    it("refuses direct rooms", async () => {
      const [me, friend] = await createUsers(deps, 2);
      const direct = await deps.services.rooms.openDirect(me.id, friend.id);
      expect(await trpcError(callerFor(deps.services, me.id).rooms.kick({ roomId: direct.id, userId: friend.id }))).toMatchObject({
        code: "BAD_REQUEST",
        message: "direct rooms cannot have members removed",
      });
    });
  });

  describe("openDirect", () => {
    it("opens one direct room per pair, from either side, telling both people once", async () => {
      const [me, friend] = await createUsers(deps, 2);
      const myEvents = await deps.recordEvents({ userId: me.id });
      const friendEvents = await deps.recordEvents({ userId: friend.id });
      const room = await callerFor(deps.services, me.id).rooms.openDirect({ userId: friend.id });
      expect(room).toMatchObject({ kind: "direct", name: "", lastSeq: 0 });
      expect(await deps.services.rooms.openDirect(friend.id, me.id)).toEqual(room);
      expect(await deps.services.rooms.openDirect(me.id, friend.id)).toEqual(room);
      await settle();
      const joined = { type: "room.membership", roomId: room.id, membership: "joined", room };
      expect(myEvents).toEqual([joined]);
      expect(friendEvents).toEqual([joined]);
      const members = await deps.services.rooms.members(friend.id, { roomId: room.id, limit: 10 });
      expect(members.items.map((member) => [member.user.id, member.role]).sort()).toEqual(
        [[me.id, "member"], [friend.id, "member"]].sort(),
      );
    });

    it("creates exactly one room when both people open it at the same time", async () => {
      const [me, friend] = await createUsers(deps, 2);
      const myEvents = await deps.recordEvents({ userId: me.id });
      const opened = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          i % 2 === 0 ? deps.services.rooms.openDirect(me.id, friend.id) : deps.services.rooms.openDirect(friend.id, me.id),
        ),
      );
      expect(new Set(opened.map((room) => room.id)).size).toBe(1);
      const directKey = [me.id, friend.id].sort().join(":");
      expect(await deps.database.db.select({ id: rooms.id }).from(rooms).where(eq(rooms.directKey, directKey))).toHaveLength(1);
      await settle();
      expect(myEvents).toHaveLength(1);
    });

    it("refuses yourself and unknown users, and keeps outsiders out", async () => {
      const [me, friend, outsider] = await createUsers(deps, 3);
      const caller = callerFor(deps.services, me.id);
      expect(await trpcError(caller.rooms.openDirect({ userId: me.id }))).toMatchObject({ code: "BAD_REQUEST" });
      expect(await trpcError(caller.rooms.openDirect({ userId: crypto.randomUUID() }))).toMatchObject({ code: "NOT_FOUND" });
      expect(await inputIssues(caller.rooms.openDirect({ userId: "someone" }))).toHaveLength(1);
      const direct = await deps.services.rooms.openDirect(me.id, friend.id);
      const asOutsider = callerFor(deps.services, outsider.id);
      expect(await trpcError(asOutsider.rooms.get({ roomId: direct.id }))).toMatchObject(NOT_A_MEMBER);
      expect(await trpcError(asOutsider.rooms.join({ roomId: direct.id }))).toMatchObject(NOT_A_MEMBER);
    });
  });

  describe("members", () => {
    it("pages through members by join time with an opaque cursor, even when join times tie", async () => {
      const [owner, ...others] = await createUsers(deps, 7);
      const room = await privateRoomOf(owner);
      // Six members inserted in one statement share one joined_at: the user id breaks the tie.
      await deps.database.db.insert(roomMembers).values(others.map((user) => ({ roomId: room.id, userId: user.id })));
      const caller = callerFor(deps.services, owner.id);
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await caller.rooms.members({ roomId: room.id, limit: 3, ...(cursor && { cursor }) });
        pages.push(page.items.map((member) => member.user.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
      expect(pages.flat()).toEqual([owner.id, ...others.map((user) => user.id).sort()]);
      const first = await deps.services.rooms.members(owner.id, { roomId: room.id, limit: 1 });
      expect(first.items[0]).toMatchObject({ user: owner, role: "owner" });
      expect(new Date(first.items[0]!.joinedAt).toISOString()).toBe(first.items[0]!.joinedAt);
    });

    it("shows members to members only, and refuses cursors it did not issue and limits over 200", async () => {
      const [owner, outsider] = await createUsers(deps, 2);
      const publicRoom = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
      expect(await trpcError(callerFor(deps.services, outsider.id).rooms.members({ roomId: publicRoom.id }))).toMatchObject(NOT_A_MEMBER);
      const caller = callerFor(deps.services, owner.id);
      const forged = Buffer.from(JSON.stringify(["yesterday", owner.id])).toString("base64url");
      expect(await inputIssues(caller.rooms.members({ roomId: publicRoom.id, cursor: forged }))).toEqual(["invalid cursor"]);
      expect(await inputIssues(caller.rooms.members({ roomId: publicRoom.id, limit: 201 }))).not.toEqual([]);
    });
  });
});
