import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import { createUsers, inviteAndAccept, setRole, token } from "./room-fixtures.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser } from "../support/factories.ts";
import { logReader } from "../support/room-log.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { callerFor, domainError, inputIssues, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

describe.each(databaseKinds)("rooms on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const roomOf = (owner: UserPublic, kind: "public" | "private", name = token()): Promise<Room> =>
    deps.services.rooms.create(owner.id, { name, kind });

  describe("create", () => {
    it("makes the creator its owner and attaches the creator's sockets", async () => {
      const owner = await createUser(deps.database);
      const userEvents = await deps.recordEvents({ userId: owner.id });
      const room = await callerFor(deps.services, owner.id).rooms.create({
        name: "  Release planning ",
        kind: "private",
        description: "what ships when",
      });
      expect(room).toMatchObject({ kind: "private", name: "Release planning", description: "what ships when", lastSeq: 0 });
      expect(new Date(room.createdAt).toISOString()).toBe(room.createdAt);
      expect(await deps.services.rooms.requireMember(owner.id, room.id)).toBe("owner");
      await settle();
      expect(userEvents).toEqual([{ type: "room.membership", roomId: room.id, membership: "joined", room }]);
    });

    it("normalises names to NFC and accepts exactly 80 characters", async () => {
      const owner = await createUser(deps.database);
      const caller = callerFor(deps.services, owner.id);
      const decomposed = await caller.rooms.create({ name: "Cafe\u0301", kind: "public" });
      expect(decomposed.name).toBe("Caf\u00e9");
      const longest = await caller.rooms.create({ name: "n".repeat(80), kind: "public" });
      expect(longest.name).toHaveLength(80);
    });

    it("refuses bad names, descriptions, kinds and unknown fields", async () => {
      const owner = await createUser(deps.database);
      const caller = callerFor(deps.services, owner.id);
      const cases: [unknown, string][] = [
        [{ name: "", kind: "public" }, "name must not be empty"],
        [{ name: " \t ", kind: "public" }, "name must not be empty"],
        [{ name: "n".repeat(81), kind: "public" }, "name must be at most 80 characters"],
        [{ name: "evil\u202Eexe.txt", kind: "public" }, "name must not contain invisible or formatting characters (U+202E)"],
        [{ name: "zero\u200Bwidth", kind: "public" }, "name must not contain invisible or formatting characters (U+200B)"],
        [{ name: "bell\u0007", kind: "public" }, "name must not contain control characters"],
        [{ name: "half \uD83D surrogate", kind: "public" }, "name must be well-formed Unicode (no lone surrogates)"],
        [{ name: "ok", kind: "public", description: "d".repeat(501) }, "description must be at most 500 characters"],
        [{ name: "ok", kind: "public", description: "nul\u0000" }, "description must not contain control characters other than newline and tab"],
      ];
      for (const [input, message] of cases) {
        expect(await inputIssues(caller.rooms.create(input as never)), JSON.stringify(input)).toContain(message);
      }
      for (const input of [{ name: "ok", kind: "direct" }, { name: "ok", kind: "public", ownerId: owner.id }, { kind: "public" }]) {
        expect(await inputIssues(caller.rooms.create(input as never)), JSON.stringify(input)).not.toEqual([]);
      }
    });
  });

  describe("get", () => {
    it("shows any room to its members and public rooms to anyone", async () => {
      const [owner, outsider] = await Promise.all([createUser(deps.database), createUser(deps.database)]);
      const privateRoom = await roomOf(owner, "private");
      const publicRoom = await roomOf(owner, "public");
      expect(await callerFor(deps.services, owner.id).rooms.get({ roomId: privateRoom.id })).toEqual(privateRoom);
      expect(await callerFor(deps.services, outsider.id).rooms.get({ roomId: publicRoom.id })).toEqual(publicRoom);
    });

    it("answers an outsider the same for a private room as for a room that does not exist", async () => {
      const [owner, outsider] = await Promise.all([createUser(deps.database), createUser(deps.database)]);
      const privateRoom = await roomOf(owner, "private");
      const caller = callerFor(deps.services, outsider.id);
      const hidden = await trpcError(caller.rooms.get({ roomId: privateRoom.id }));
      const missing = await trpcError(caller.rooms.get({ roomId: crypto.randomUUID() }));
      expect(hidden).toMatchObject(NOT_A_MEMBER);
      expect(missing).toMatchObject(NOT_A_MEMBER);
      expect(await inputIssues(caller.rooms.get({ roomId: "42" }))).toHaveLength(1);
    });
  });

  describe("join", () => {
    it("adds the caller to a public room once, announcing it to the room and to the caller", async () => {
      const [owner, joiner] = await Promise.all([createUser(deps.database), createUser(deps.database)]);
      const room = await roomOf(owner, "public");
      const roomEvents = await deps.recordEvents({ roomId: room.id });
      const userEvents = await deps.recordEvents({ userId: joiner.id });
      const caller = callerFor(deps.services, joiner.id);
      // The join took the room's next seq: the room comes back at that position, where the joiner's sockets attach.
      const joined = { ...room, lastSeq: 1 };
      expect(await caller.rooms.join({ roomId: room.id })).toEqual(joined);
      expect(await caller.rooms.join({ roomId: room.id })).toEqual(joined);
      await settle();
      expect(roomEvents).toEqual([{ type: "member.joined", roomId: room.id, seq: 1, member: { user: joiner, role: "member" } }]);
      expect(userEvents).toEqual([{ type: "room.membership", roomId: room.id, membership: "joined", room: joined }]);
      expect(await deps.services.rooms.requireMember(joiner.id, room.id)).toBe("member");
    });

    it("refuses private rooms exactly like missing ones, and lets members 'join' their own private room", async () => {
      const [owner, outsider] = await Promise.all([createUser(deps.database), createUser(deps.database)]);
      const room = await roomOf(owner, "private");
      const roomEvents = await deps.recordEvents({ roomId: room.id });
      expect(await trpcError(callerFor(deps.services, outsider.id).rooms.join({ roomId: room.id }))).toMatchObject(NOT_A_MEMBER);
      expect(await domainError(deps.services.rooms.join(outsider.id, crypto.randomUUID()))).toMatchObject(NOT_A_MEMBER);
      expect(await deps.services.rooms.join(owner.id, room.id)).toEqual(room);
      await settle();
      expect(roomEvents).toEqual([]);
    });
  });

  describe("discover", () => {
    it("pages through public rooms by name with an opaque cursor, never showing private ones", async () => {
      const owner = await createUser(deps.database);
      const t = token();
      const names = ["e", "b", "d", "a", "c"].map((letter) => `${t} ${letter}`);
      for (const name of names) await roomOf(owner, "public", name);
      await roomOf(owner, "private", `${t} hidden`);
      const caller = callerFor(deps.services, owner.id);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 5; page++) {
        const result = await caller.rooms.discover({ query: t, limit: 2, ...(cursor && { cursor }) });
        seen.push(...result.items.map((room) => room.name));
        expect(result.items.every((room) => room.kind === "public")).toBe(true);
        if (!result.nextCursor) break;
        cursor = result.nextCursor;
      }
      expect(seen).toEqual([...names].sort());
    });

    it("filters by a case-insensitive substring of the name, with % and _ taken literally", async () => {
      const owner = await createUser(deps.database);
      const t = token();
      const match = await roomOf(owner, "public", `Weekly ${t.toUpperCase()} 100% sync`);
      await roomOf(owner, "public", `Weekly ${t} 1000 sync`);
      await roomOf(owner, "public", `Weekly ${t}_x`);
      const caller = callerFor(deps.services, owner.id);
      expect((await caller.rooms.discover({ query: `${t} 100%` })).items).toEqual([match]);
      expect((await caller.rooms.discover({ query: `${t}_` })).items.map((room) => room.name)).toEqual([`Weekly ${t}_x`]);
      expect((await caller.rooms.discover({ query: `  ${t}  `, limit: 100 })).items).toHaveLength(3);
    });

    it("refuses a cursor it did not issue, a limit over 100 and unknown fields", async () => {
      const user = await createUser(deps.database);
      const caller = callerFor(deps.services, user.id);
      for (const cursor of ["garbage", Buffer.from('["a","not-a-uuid"]').toString("base64url")]) {
        expect(await inputIssues(caller.rooms.discover({ cursor }))).toEqual(["invalid cursor"]);
      }
      expect(await inputIssues(caller.rooms.discover({ limit: 101 }))).not.toEqual([]);
      expect(await inputIssues(caller.rooms.discover({ kind: "private" } as never))).not.toEqual([]);
    });
  });

  describe("list", () => {
    it("lists my rooms newest activity first, with role, last seq, last message and the peer of a direct room", async () => {
      const [me, friend] = await Promise.all([createUser(deps.database), createUser(deps.database)]);
      const older = await roomOf(me, "private");
      const newer = await roomOf(friend, "public");
      await deps.services.rooms.join(me.id, newer.id);
      const direct = await deps.services.rooms.openDirect(friend.id, me.id);
      const sent = await deps.services.messages.send(friend.id, { roomId: newer.id, clientMsgId: `m-${token()}`, body: "hi" });
      const sentToOlder = await deps.services.messages.send(me.id, { roomId: older.id, clientMsgId: `m-${token()}`, body: "bump" });

      const rooms = await callerFor(deps.services, me.id).rooms.list();
      expect(rooms.map((room) => room.id)).toEqual([older.id, newer.id, direct.id]);
      const unreadNone = { readSeq: 0, deliveredSeq: 0, unread: 0, unreadMentions: 0 };
      // My own message is not unread; the friend's is.
      expect(rooms[0]).toEqual({ ...older, lastSeq: 1, role: "owner", lastMessage: sentToOlder.message, peer: null, ...unreadNone });
      // My join took seq 1 and is where my watermarks start; the friend's message is seq 2.
      const joinedAt = { readSeq: 1, deliveredSeq: 1 };
      expect(rooms[1]).toEqual({ ...newer, lastSeq: 2, role: "member", lastMessage: sent.message, peer: null, ...unreadNone, ...joinedAt, unread: 1 });
      expect(rooms[2]).toEqual({ ...direct, role: "member", lastMessage: null, peer: friend, ...unreadNone });
      expect(await deps.services.rooms.list((await createUser(deps.database)).id)).toEqual([]);
    });
  });

  describe("update", () => {
    it("lets owners and admins rename or redescribe a room and announces the new room", async () => {
      const [owner, admin] = await Promise.all([createUser(deps.database), createUser(deps.database)]);
      const room = await roomOf(owner, "private");
      await inviteAndAccept(deps, owner.id, room.id, admin.id);
      await setRole(deps, room.id, admin.id, "admin");
      const roomEvents = await deps.recordEvents({ roomId: room.id });
      const renamed = await callerFor(deps.services, owner.id).rooms.update({ roomId: room.id, name: " Cafe\u0301 " });
      expect(renamed).toEqual({ ...room, name: "Caf\u00e9", lastSeq: 2 }); // after the admin's join, seq 1
      const described = await callerFor(deps.services, admin.id).rooms.update({ roomId: room.id, description: "now described" });
      expect(described).toEqual({ ...renamed, description: "now described", lastSeq: 3 });
      expect(await deps.services.rooms.get(owner.id, room.id)).toEqual(described);
      await settle();
      expect(roomEvents).toEqual([
        { type: "room.updated", roomId: room.id, seq: 2, room: renamed },
        { type: "room.updated", roomId: room.id, seq: 3, room: described },
      ]);
      // Replayed from Postgres (not the cache of what was announced), each carries the room as it is now, at its own
      // position: applied in order, both end at the same room.
      await deps.recentEvents.forget(room.id);
      expect(await logReader(deps.services.roomLog).events(room.id, 1)).toEqual([
        { type: "room.updated", roomId: room.id, seq: 2, room: { ...described, lastSeq: 2 } },
        { type: "room.updated", roomId: room.id, seq: 3, room: described },
      ]);
    });

    it("refuses plain members, outsiders, direct rooms, empty changes and bad names", async () => {
      const [owner, member, outsider] = await createUsers(deps, 3);
      const room = await roomOf(owner, "public");
      await deps.services.rooms.join(member.id, room.id);
      expect(await trpcError(callerFor(deps.services, member.id).rooms.update({ roomId: room.id, name: "x" }))).toMatchObject({
        code: "FORBIDDEN",
        message: "only owners and admins can update the room",
      });
      expect(await trpcError(callerFor(deps.services, outsider.id).rooms.update({ roomId: room.id, name: "x" }))).toMatchObject(
        NOT_A_MEMBER,
      );
      const direct = await deps.services.rooms.openDirect(owner.id, member.id);
      expect(await domainError(deps.services.rooms.update(owner.id, { roomId: direct.id, name: "x" }))).toMatchObject({
        code: "BAD_REQUEST",
        message: "direct rooms cannot be updated",
      });
      const caller = callerFor(deps.services, owner.id);
      expect(await inputIssues(caller.rooms.update({ roomId: room.id }))).toEqual(["change at least one of name, description, avatarFileId, settings"]);
      expect(await inputIssues(caller.rooms.update({ roomId: room.id, name: "\u2066isolate" }))).toEqual([
        "name must not contain invisible or formatting characters (U+2066)",
      ]);
      expect(await deps.services.rooms.get(owner.id, room.id)).toEqual({ ...room, lastSeq: 1 }); // the member's join, nothing else
    });
  });
});
