import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoomAuditEntry } from "../../src/domain/rooms/room-audit.ts";
import type { MemberRole, Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { users } from "../../src/infra/db/schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { createUsers, roomWithRoles, token } from "./room-fixtures.ts";
import { callerFor, inputIssues, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

/**
 * rooms.auditLog: every moderation and administration act leaves exactly one entry — actor, target, what changed —
 * written in the act's own transaction (a refused act leaves none), read newest first by moderators and up.
 */
describe.each(databaseKinds)("room audit log on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const api = (user: UserPublic) => callerFor(deps.services, user.id);

  const roomWith = (owner: UserPublic, ...others: [UserPublic, MemberRole][]): Promise<Room> => roomWithRoles(deps, owner, "private", others);

  async function entries(room: Room, reader: UserPublic): Promise<RoomAuditEntry[]> {
    return (await api(reader).rooms.auditLog({ roomId: room.id, limit: 100 })).items;
  }

  const lastSeq = async (room: Room, reader: UserPublic): Promise<number> => (await deps.services.rooms.get(reader.id, room.id)).lastSeq;

  const send = async (user: UserPublic, room: Room, body: string) =>
    (await deps.services.messages.send(user.id, { roomId: room.id, clientMsgId: `a-${token()}`, body })).message;

  describe("what is recorded", () => {
    it("records a role change with the old and new role, the seq of its member.role event, actor and target", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, [ann, "member"]);
      await api(owner).rooms.setRole({ roomId: room.id, userId: ann.id, role: "moderator" });
      const [entry, ...rest] = await entries(room, owner);
      expect(rest).toEqual([]);
      expect(entry).toEqual({
        id: expect.any(String),
        action: "role.changed",
        actor: owner,
        target: { user: ann },
        reason: null,
        data: { from: "member", to: "moderator" },
        seq: room.lastSeq + 1,
        at: expect.any(String),
      });
      expect(Math.abs(Date.parse(entry!.at) - Date.now())).toBeLessThan(60_000);
    });

    it("records a transfer of ownership once, at the new owner's event, with the role they had", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, [ann, "admin"]);
      await api(owner).rooms.transferOwnership({ roomId: room.id, userId: ann.id });
      expect(await entries(room, ann)).toEqual([
        expect.objectContaining({ action: "ownership.transferred", actor: owner, target: { user: ann }, data: { from: "admin" }, seq: room.lastSeq + 1 }),
      ]);
    });

    it("records a kick with the role the member had; a kicked member's entry outlives their membership", async () => {
      const [owner, mod, ann] = await createUsers(deps, 3);
      const room = await roomWith(owner, [mod, "moderator"], [ann, "member"]);
      await api(mod).rooms.kick({ roomId: room.id, userId: ann.id });
      expect(await entries(room, mod)).toEqual([
        expect.objectContaining({ action: "member.kicked", actor: mod, target: { user: ann }, data: { role: "member" }, seq: room.lastSeq + 1 }),
      ]);
    });

    it("records a settings change with only the fields that changed, old → new; saving them unchanged records nothing", async () => {
      const [owner] = await createUsers(deps, 1);
      const room = await roomWith(owner);
      await api(owner).rooms.update({ roomId: room.id, name: "Renamed", description: room.description });
      await api(owner).rooms.update({ roomId: room.id, name: "Renamed" });
      expect(await entries(room, owner)).toEqual([
        expect.objectContaining({ action: "room.updated", actor: owner, target: {}, data: { name: { from: room.name, to: "Renamed" } }, seq: room.lastSeq + 1 }),
      ]);
    });

    it("records pins and unpins with the message and its sender", async () => {
      const [owner, mod, ann] = await createUsers(deps, 3);
      const room = await roomWith(owner, [mod, "moderator"], [ann, "member"]);
      const message = await send(ann, room, "pin me");
      await api(mod).messages.pin({ messageId: message.id });
      await api(mod).messages.pin({ messageId: message.id }); // already pinned: nothing happens, nothing is recorded
      await api(owner).messages.unpin({ messageId: message.id });
      const target = { user: ann, messageId: message.id };
      expect(await entries(room, mod)).toEqual([
        expect.objectContaining({ action: "message.unpinned", actor: owner, target, data: null, seq: message.seq + 2 }),
        expect.objectContaining({ action: "message.pinned", actor: mod, target, data: null, seq: message.seq + 1 }),
      ]);
    });

    it("records a moderator's delete of another's message without its body; a sender's own delete is not audited", async () => {
      const [owner, mod, ann] = await createUsers(deps, 3);
      const room = await roomWith(owner, [mod, "moderator"], [ann, "member"]);
      const theirs = await send(ann, room, "secret words of ann");
      const own = await send(ann, room, "ann takes this back");
      await api(mod).messages.delete({ messageId: theirs.id });
      await api(ann).messages.delete({ messageId: own.id });
      const log = await entries(room, owner);
      expect(log).toEqual([
        expect.objectContaining({ action: "message.deleted", actor: mod, target: { user: ann, messageId: theirs.id }, data: null, seq: own.seq + 1 }),
      ]);
      expect(JSON.stringify(log)).not.toContain("secret");
    });

    it("keeps an entry whose people are gone, naming them no more", async () => {
      const [owner, mod, ann] = await createUsers(deps, 3);
      const room = await roomWith(owner, [mod, "moderator"], [ann, "member"]);
      await api(mod).rooms.kick({ roomId: room.id, userId: ann.id });
      await deps.database.db.delete(users).where(eq(users.id, mod.id));
      await deps.database.db.delete(users).where(eq(users.id, ann.id));
      expect(await entries(room, owner)).toEqual([expect.objectContaining({ action: "member.kicked", actor: null, target: {}, data: { role: "member" } })]);
    });
  });

  describe("atomically with the change", () => {
    it("records nothing for refused or empty changes, and the room's log stays where it was", async () => {
      const [owner, admin, mod, ann] = await createUsers(deps, 4);
      const room = await roomWith(owner, [admin, "admin"], [mod, "moderator"], [ann, "member"]);
      const message = await send(owner, room, "the owner's words");
      const before = await lastSeq(room, owner);
      // Called one at a time, in order: each is refused before the next is made.
      const refusals: (() => Promise<unknown>)[] = [
        () => api(owner).rooms.setRole({ roomId: room.id, userId: owner.id, role: "member" }), // the last owner
        () => api(mod).rooms.kick({ roomId: room.id, userId: admin.id }), // rank
        () => api(admin).rooms.setRole({ roomId: room.id, userId: ann.id, role: "admin" }), // not grantable
        () => api(mod).rooms.update({ roomId: room.id, name: "Mine" }), // moderators do not change settings
        () => api(ann).messages.pin({ messageId: message.id }),
        () => api(mod).messages.delete({ messageId: message.id }), // the owner outranks moderators
      ];
      for (const refusal of refusals) {
        expect((await trpcError(refusal())).code).toMatch(/FORBIDDEN|CONFLICT/);
      }
      await api(owner).rooms.setRole({ roomId: room.id, userId: mod.id, role: "moderator" }); // already that role
      expect(await entries(room, owner)).toEqual([]);
      expect(await lastSeq(room, owner)).toBe(before);
    });

    it("goes with the room when the room is deleted", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, [ann, "member"]);
      await api(owner).rooms.kick({ roomId: room.id, userId: ann.id });
      await api(owner).rooms.leave({ roomId: room.id });
      expect(await trpcError(api(owner).rooms.auditLog({ roomId: room.id }))).toMatchObject(NOT_A_MEMBER);
    });
  });

  describe("reading it", () => {
    it("pages newest first with a keyset cursor: every entry once, in the order of one full read", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, [ann, "member"]);
      const roles = ["moderator", "member", "admin", "moderator", "member"] as const;
      for (const role of roles) await api(owner).rooms.setRole({ roomId: room.id, userId: ann.id, role });
      const all = await entries(room, owner);
      expect(all.map((entry) => entry.data)).toEqual([
        { from: "moderator", to: "member" },
        { from: "admin", to: "moderator" },
        { from: "member", to: "admin" },
        { from: "moderator", to: "member" },
        { from: "member", to: "moderator" },
      ]);
      const paged: RoomAuditEntry[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await api(owner).rooms.auditLog({ roomId: room.id, limit: 2, ...(cursor && { cursor }) });
        paged.push(...page.items);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      expect(paged).toEqual(all);
      const firstPage = await api(owner).rooms.auditLog({ roomId: room.id, limit: 5 });
      expect(firstPage).toEqual({ items: all, nextCursor: null });
    });

    it("is read by moderators and up; members are refused by rank, outsiders as for any room they cannot see", async () => {
      const [owner, admin, mod, ann, outsider] = await createUsers(deps, 5);
      const room = await roomWith(owner, [admin, "admin"], [mod, "moderator"], [ann, "member"]);
      await api(owner).rooms.update({ roomId: room.id, description: "now described" });
      for (const reader of [owner, admin, mod]) expect(await entries(room, reader)).toHaveLength(1);
      expect(await trpcError(api(ann).rooms.auditLog({ roomId: room.id }))).toMatchObject({
        code: "FORBIDDEN",
        message: "only owners, admins and moderators can read the audit log",
      });
      for (const roomId of [room.id, crypto.randomUUID()]) {
        expect(await trpcError(api(outsider).rooms.auditLog({ roomId }))).toMatchObject(NOT_A_MEMBER);
      }
      const publicRoom = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
      expect(await trpcError(api(outsider).rooms.auditLog({ roomId: publicRoom.id }))).toMatchObject(NOT_A_MEMBER);
    });

    it("refuses bad input with BAD_REQUEST", async () => {
      const [owner] = await createUsers(deps, 1);
      const room = await roomWith(owner);
      const caller = api(owner).rooms;
      const bad: unknown[] = [
        { roomId: "not-a-uuid" },
        { roomId: room.id, limit: 0 },
        { roomId: room.id, limit: 101 },
        { roomId: room.id, limit: 1.5 },
        { roomId: room.id, cursor: "" },
        { roomId: room.id, cursor: "not a cursor" },
        { roomId: room.id, cursor: Buffer.from(JSON.stringify(["2024-02-30 10:00:00+00", crypto.randomUUID()])).toString("base64url") },
        { roomId: room.id, cursor: Buffer.from(JSON.stringify(["2024-02-01 10:00:00+00", "x"])).toString("base64url") },
        { roomId: room.id, extra: true },
      ];
      for (const input of bad) {
        expect(await inputIssues(caller.auditLog(input as never)), JSON.stringify(input)).not.toEqual([]);
      }
    });
  });
});
