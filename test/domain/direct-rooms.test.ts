import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { friendships, roomMembers, rooms, userBlocks, users } from "../../src/infra/db/schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, token } from "./room-fixtures.ts";
import { callerFor, domainError, trpcError } from "./trpc-calls.ts";

const BLOCKED = { code: "FORBIDDEN", reason: "BLOCKED", message: "you cannot open a direct room with this user" } as const;
const DM_POLICY = { code: "FORBIDDEN", reason: "DM_POLICY", message: "this user does not accept direct rooms from you" } as const;

describe.each(databaseKinds)("direct rooms on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const listed = async (userId: string): Promise<string[]> => (await deps.services.rooms.list(userId)).map((room) => room.id);
  const send = (userId: string, roomId: string) => deps.services.messages.send(userId, { roomId, clientMsgId: `d-${token()}`, body: "hi" });
  const setPolicy = async (userId: string, dmPolicy: "everyone" | "friends" | "nobody"): Promise<void> => {
    await deps.database.db.update(users).set({ dmPolicy }).where(eq(users.id, userId));
  };

  describe("leaving (hiding)", () => {
    it("hides the room from my list and my devices, keeping me a member who still receives it", async () => {
      const [me, friend] = await createUsers(deps, 2);
      const direct = await deps.services.rooms.openDirect(me.id, friend.id);
      await send(friend.id, direct.id);
      const myEvents = await deps.recordEvents({ userId: me.id });
      const roomEvents = await deps.recordEvents({ roomId: direct.id });
      await callerFor(deps.services, me.id).rooms.leave({ roomId: direct.id });
      await settle();
      expect(myEvents).toEqual([{ type: "room.hidden", roomId: direct.id }]);
      expect(roomEvents).toEqual([]); // the other person is told nothing
      expect(await listed(me.id)).not.toContain(direct.id);
      expect(await listed(friend.id)).toContain(direct.id);
      expect(await deps.services.rooms.requireMember(me.id, direct.id)).toBe("member");
      expect(await deps.services.rooms.roomIdsOf(me.id)).toContain(direct.id);
      const [member] = await deps.database.db
        .select({ hiddenSeq: roomMembers.hiddenSeq })
        .from(roomMembers)
        .where(and(eq(roomMembers.roomId, direct.id), eq(roomMembers.userId, me.id)));
      expect(member?.hiddenSeq).toBe(1);
    });

    it("brings it back with the next message, from either side", async () => {
      const [me, friend] = await createUsers(deps, 2);
      const direct = await deps.services.rooms.openDirect(me.id, friend.id);
      await deps.services.rooms.leave(me.id, direct.id);
      expect(await listed(me.id)).not.toContain(direct.id);
      await send(friend.id, direct.id);
      expect(await listed(me.id)).toContain(direct.id);
      await deps.services.rooms.leave(me.id, direct.id);
      expect(await listed(me.id)).not.toContain(direct.id);
      await send(me.id, direct.id);
      expect(await listed(me.id)).toContain(direct.id);
    });

    it("brings it back when I open it again", async () => {
      const [me, friend] = await createUsers(deps, 2);
      const direct = await deps.services.rooms.openDirect(me.id, friend.id);
      await send(me.id, direct.id);
      await deps.services.rooms.leave(me.id, direct.id);
      expect(await deps.services.rooms.openDirect(me.id, friend.id)).toMatchObject({ id: direct.id });
      expect(await listed(me.id)).toContain(direct.id);
      // Their opening it is theirs: my hiding stays.
      await deps.services.rooms.leave(me.id, direct.id);
      await deps.services.rooms.openDirect(friend.id, me.id);
      expect(await listed(me.id)).not.toContain(direct.id);
    });
  });

  describe("opening", () => {
    it("refuses a new direct room across a block, either way, without saying who blocked whom", async () => {
      const [me, blockedByMe, blockerOfMe] = await createUsers(deps, 3);
      await deps.database.db.insert(userBlocks).values([
        { blockerId: me.id, blockedId: blockedByMe.id },
        { blockerId: blockerOfMe.id, blockedId: me.id },
      ]);
      for (const other of [blockedByMe, blockerOfMe]) {
        expect(await trpcError(callerFor(deps.services, me.id).rooms.openDirect({ userId: other.id }))).toMatchObject({
          code: "FORBIDDEN",
          message: BLOCKED.message,
          cause: { reason: "BLOCKED" },
        });
        expect(await domainError(deps.services.rooms.openDirect(other.id, me.id))).toMatchObject(BLOCKED);
      }
      const directKeys = [blockedByMe, blockerOfMe].map((other) => [me.id, other.id].sort().join(":"));
      for (const directKey of directKeys) expect(await deps.database.db.select().from(rooms).where(eq(rooms.directKey, directKey))).toEqual([]);
    });

    it("refuses to go back to an existing direct room across a block", async () => {
      const [me, other] = await createUsers(deps, 2);
      await deps.services.rooms.openDirect(me.id, other.id);
      await deps.database.db.insert(userBlocks).values({ blockerId: other.id, blockedId: me.id });
      expect(await domainError(deps.services.rooms.openDirect(me.id, other.id))).toMatchObject(BLOCKED);
      expect(await domainError(deps.services.rooms.openDirect(other.id, me.id))).toMatchObject(BLOCKED);
    });

    it("follows the other person's DM policy: everyone, friends (their friends), nobody", async () => {
      const [me, open, picky, closed, friendly] = await createUsers(deps, 5);
      await setPolicy(picky.id, "friends");
      await setPolicy(closed.id, "nobody");
      await setPolicy(friendly.id, "friends");
      await deps.database.db.insert(friendships).values([
        { userId: friendly.id, friendId: me.id },
        { userId: me.id, friendId: friendly.id },
      ]);
      expect(await deps.services.rooms.openDirect(me.id, open.id)).toMatchObject({ kind: "direct" });
      expect(await trpcError(callerFor(deps.services, me.id).rooms.openDirect({ userId: picky.id }))).toMatchObject({
        code: "FORBIDDEN",
        message: DM_POLICY.message,
        cause: { reason: "DM_POLICY" },
      });
      expect(await domainError(deps.services.rooms.openDirect(me.id, closed.id))).toMatchObject(DM_POLICY);
      expect(await deps.services.rooms.openDirect(me.id, friendly.id)).toMatchObject({ kind: "direct" });
      // The policy is theirs: they may still open one with me.
      expect(await deps.services.rooms.openDirect(closed.id, me.id)).toMatchObject({ kind: "direct" });
    });

    it("keeps an existing direct room usable when the policy changes later", async () => {
      const [me, other] = await createUsers(deps, 2);
      const direct = await deps.services.rooms.openDirect(me.id, other.id);
      await setPolicy(other.id, "nobody");
      expect(await deps.services.rooms.openDirect(me.id, other.id)).toMatchObject({ id: direct.id });
      await send(me.id, direct.id);
    });
  });
});
