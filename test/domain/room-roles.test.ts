import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoggedRoomEvent } from "../../src/domain/events.ts";
import type { MemberRole, Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, roomWithRoles } from "./room-fixtures.ts";
import { callerFor, domainError, inputIssues, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

const LAST_OWNER = { code: "CONFLICT", reason: "LAST_OWNER" } as const;

/**
 * rooms.setRole and rooms.transferOwnership: who may give which role to whom (the rank rules of permissions.ts),
 * and that each change is a `member.role` event in the room's log, replayed like a message.
 */
describe.each(databaseKinds)("room roles on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const api = (user: UserPublic) => callerFor(deps.services, user.id);

  const roomWith = (owner: UserPublic, ...others: [UserPublic, MemberRole][]): Promise<Room> => roomWithRoles(deps, owner, "private", others);

  async function roles(room: Room, reader: UserPublic): Promise<Record<string, MemberRole>> {
    const { items } = await deps.services.rooms.members(reader.id, { roomId: room.id, limit: 200 });
    return Object.fromEntries(items.map((member) => [member.user.id, member.role]));
  }

  const roleEvents = (events: unknown[]): LoggedRoomEvent[] =>
    events.filter((event): event is LoggedRoomEvent => (event as { type?: string }).type === "member.role");

  describe("setRole", () => {
    it("lets an owner make a member moderator, then admin: each a member.role event with the room's next seq, replayed by rooms.events", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, [ann, "member"]);
      const events = await deps.recordEvents({ roomId: room.id });
      await api(owner).rooms.setRole({ roomId: room.id, userId: ann.id, role: "moderator" });
      await api(owner).rooms.setRole({ roomId: room.id, userId: ann.id, role: "admin" });
      await settle();
      const expected = [
        { type: "member.role", roomId: room.id, seq: room.lastSeq + 1, userId: ann.id, role: "moderator", byUserId: owner.id },
        { type: "member.role", roomId: room.id, seq: room.lastSeq + 2, userId: ann.id, role: "admin", byUserId: owner.id },
      ];
      expect(events).toEqual(expected);
      expect((await roles(room, ann))[ann.id]).toBe("admin");
      expect((await deps.services.rooms.list(ann.id)).find((mine) => mine.id === room.id)?.role).toBe("admin");
      // From Postgres, not the cache of what was announced: the role each event gave, not the role now.
      await deps.recentEvents.forget(room.id);
      const replayed = await api(ann).rooms.events({ roomId: room.id, after: room.lastSeq });
      expect(replayed).toMatchObject({ events: expected, lastSeq: room.lastSeq + 2, hasMore: false });
    });

    it("changes nothing, and takes no seq, for the role the member already has", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, [ann, "moderator"]);
      await api(owner).rooms.setRole({ roomId: room.id, userId: ann.id, role: "moderator" });
      expect((await deps.services.rooms.get(owner.id, room.id)).lastSeq).toBe(room.lastSeq);
    });

    it("lets admins give and take moderator below them, but not give admin or owner, nor change admins or owners", async () => {
      const [owner, admin, otherAdmin, mod, ann] = await createUsers(deps, 5);
      const room = await roomWith(owner, [admin, "admin"], [otherAdmin, "admin"], [mod, "moderator"], [ann, "member"]);
      const asAdmin = api(admin);
      await asAdmin.rooms.setRole({ roomId: room.id, userId: ann.id, role: "moderator" });
      await asAdmin.rooms.setRole({ roomId: room.id, userId: mod.id, role: "member" });
      for (const role of ["admin", "owner"] as const) {
        expect(await trpcError(asAdmin.rooms.setRole({ roomId: room.id, userId: ann.id, role }))).toMatchObject({
          code: "FORBIDDEN",
          message: "admins can only give roles below their own",
        });
      }
      expect(await trpcError(asAdmin.rooms.setRole({ roomId: room.id, userId: otherAdmin.id, role: "member" }))).toMatchObject({
        code: "FORBIDDEN",
        message: "admins cannot change the roles of admins",
      });
      expect(await trpcError(asAdmin.rooms.setRole({ roomId: room.id, userId: owner.id, role: "member" }))).toMatchObject({
        code: "FORBIDDEN",
        message: "admins cannot change the roles of owners",
      });
      // Stepping down needs no one's leave.
      await asAdmin.rooms.setRole({ roomId: room.id, userId: admin.id, role: "moderator" });
      expect(await roles(room, owner)).toEqual({
        [owner.id]: "owner",
        [admin.id]: "moderator",
        [otherAdmin.id]: "admin",
        [mod.id]: "member",
        [ann.id]: "moderator",
      });
    });

    it("refuses moderators and members, outsiders, targets who are not members, and direct rooms", async () => {
      const [owner, mod, ann, outsider] = await createUsers(deps, 4);
      const room = await roomWith(owner, [mod, "moderator"], [ann, "member"]);
      for (const caller of [mod, ann]) {
        expect(await trpcError(api(caller).rooms.setRole({ roomId: room.id, userId: ann.id, role: "moderator" }))).toMatchObject({
          code: "FORBIDDEN",
          message: "only owners and admins can change roles",
        });
      }
      expect(await trpcError(api(outsider).rooms.setRole({ roomId: room.id, userId: ann.id, role: "admin" }))).toMatchObject(NOT_A_MEMBER);
      expect(await trpcError(api(owner).rooms.setRole({ roomId: room.id, userId: outsider.id, role: "moderator" }))).toMatchObject({
        code: "NOT_FOUND",
        message: "that user is not a member of this room",
      });
      const direct = await deps.services.rooms.openDirect(owner.id, ann.id);
      expect(await trpcError(api(owner).rooms.setRole({ roomId: direct.id, userId: ann.id, role: "admin" }))).toMatchObject({
        code: "BAD_REQUEST",
        message: "direct rooms cannot have roles",
      });
      expect(await roles(room, owner)).toEqual({ [owner.id]: "owner", [mod.id]: "moderator", [ann.id]: "member" });
      expect((await deps.services.rooms.get(owner.id, room.id)).lastSeq).toBe(room.lastSeq);
    });

    it("lets owners make and unmake owners, but never leaves the room without one", async () => {
      const [first, second] = await createUsers(deps, 2);
      const room = await roomWith(first, [second, "member"]);
      await api(first).rooms.setRole({ roomId: room.id, userId: second.id, role: "owner" });
      // Owners act on owners.
      await api(second).rooms.setRole({ roomId: room.id, userId: first.id, role: "admin" });
      const refused = await trpcError(api(second).rooms.setRole({ roomId: room.id, userId: second.id, role: "admin" }));
      expect(refused).toMatchObject({ code: "CONFLICT", message: "a room keeps at least one owner: make another member owner first" });
      expect(refused.cause).toMatchObject(LAST_OWNER);
      expect(await roles(room, first)).toEqual({ [first.id]: "admin", [second.id]: "owner" });
    });

    it("keeps an owner when two owners demote each other at once", async () => {
      const [first, second] = await createUsers(deps, 2);
      const room = await roomWith(first, [second, "owner"]);
      const outcomes = await Promise.allSettled([
        deps.services.rooms.setRole(first.id, { roomId: room.id, userId: second.id, role: "admin" }),
        deps.services.rooms.setRole(second.id, { roomId: room.id, userId: first.id, role: "admin" }),
      ]);
      // Serialised on the room's lock: whoever goes second is no longer an owner, so may not touch the first.
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
      expect(Object.values(await roles(room, first)).sort()).toEqual(["admin", "owner"]);
    });

    it("refuses bad input with BAD_REQUEST", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, [ann, "member"]);
      for (const input of [
        { roomId: room.id, userId: ann.id, role: "superadmin" },
        { roomId: room.id, userId: ann.id, role: "Owner" },
        { roomId: room.id, userId: ann.id },
        { roomId: room.id, userId: "ann", role: "admin" },
        { roomId: "room", userId: ann.id, role: "admin" },
        { roomId: room.id, userId: ann.id, role: "admin", reason: "because" },
      ]) {
        expect((await inputIssues(api(owner).rooms.setRole(input as never))).length, JSON.stringify(input)).toBeGreaterThan(0);
      }
    });
  });

  describe("transferOwnership", () => {
    it("makes the member owner and the caller admin, in two events, the new owner's first", async () => {
      const [owner, heir] = await createUsers(deps, 2);
      const room = await roomWith(owner, [heir, "moderator"]);
      const events = await deps.recordEvents({ roomId: room.id });
      await api(owner).rooms.transferOwnership({ roomId: room.id, userId: heir.id });
      await settle();
      const expected = [
        { type: "member.role", roomId: room.id, seq: room.lastSeq + 1, userId: heir.id, role: "owner", byUserId: owner.id },
        { type: "member.role", roomId: room.id, seq: room.lastSeq + 2, userId: owner.id, role: "admin", byUserId: owner.id },
      ];
      expect(events).toEqual(expected);
      await deps.recentEvents.forget(room.id);
      expect((await api(heir).rooms.events({ roomId: room.id, after: room.lastSeq })).events).toEqual(expected);
      // The former owner may now leave; the new one is the last owner.
      expect((await domainError(deps.services.rooms.leave(heir.id, room.id))).reason).toBe("LAST_OWNER");
      await deps.services.rooms.leave(owner.id, room.id);
      expect(await roles(room, heir)).toEqual({ [heir.id]: "owner" });
    });

    it("to a co-owner only steps the caller down", async () => {
      const [owner, coOwner] = await createUsers(deps, 2);
      const room = await roomWith(owner, [coOwner, "owner"]);
      const events = await deps.recordEvents({ roomId: room.id });
      await api(owner).rooms.transferOwnership({ roomId: room.id, userId: coOwner.id });
      await settle();
      expect(roleEvents(events)).toEqual([
        { type: "member.role", roomId: room.id, seq: room.lastSeq + 1, userId: owner.id, role: "admin", byUserId: owner.id },
      ]);
    });

    it("refuses admins, yourself, outsiders, targets who are not members, and direct rooms", async () => {
      const [owner, admin, ann, outsider] = await createUsers(deps, 4);
      const room = await roomWith(owner, [admin, "admin"], [ann, "member"]);
      expect(await trpcError(api(admin).rooms.transferOwnership({ roomId: room.id, userId: ann.id }))).toMatchObject({
        code: "FORBIDDEN",
        message: "only owners can transfer ownership",
      });
      expect(await trpcError(api(owner).rooms.transferOwnership({ roomId: room.id, userId: owner.id }))).toMatchObject({ code: "BAD_REQUEST" });
      expect(await trpcError(api(outsider).rooms.transferOwnership({ roomId: room.id, userId: ann.id }))).toMatchObject(NOT_A_MEMBER);
      expect(await trpcError(api(owner).rooms.transferOwnership({ roomId: room.id, userId: outsider.id }))).toMatchObject({ code: "NOT_FOUND" });
      const direct = await deps.services.rooms.openDirect(owner.id, ann.id);
      expect(await trpcError(api(owner).rooms.transferOwnership({ roomId: direct.id, userId: ann.id }))).toMatchObject({
        code: "BAD_REQUEST",
        message: "direct rooms cannot have owners",
      });
      expect(await roles(room, owner)).toEqual({ [owner.id]: "owner", [admin.id]: "admin", [ann.id]: "member" });
      for (const input of [{ roomId: room.id }, { roomId: room.id, userId: "heir" }, { roomId: room.id, userId: ann.id, role: "owner" }]) {
        expect((await inputIssues(api(owner).rooms.transferOwnership(input as never))).length, JSON.stringify(input)).toBeGreaterThan(0);
      }
    });
  });
});
