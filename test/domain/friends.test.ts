import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { friendRequests, userBlocks, users } from "../../src/infra/db/schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser } from "../support/factories.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers } from "./room-fixtures.ts";
import { type Caller, callerFor as callerWith, inputIssues, trpcError } from "./trpc-calls.ts";

describe.each(databaseKinds)("friends on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const callerFor = (userId: string): Caller => callerWith(deps.services, userId);
  const friendIds = async (userId: string): Promise<string[]> => (await callerFor(userId).friends.list()).items.map((friend) => friend.user.id);

  describe("friends.request and friends.accept", () => {
    it("a request waits as outgoing/incoming; accepting makes both friends and tells both people's devices", async () => {
      const [alice, bob] = await createUsers(deps, 2);
      const aliceEvents = await deps.recordEvents({ userId: alice.id });
      const bobEvents = await deps.recordEvents({ userId: bob.id });

      expect(await callerFor(alice.id).friends.request({ userId: bob.id })).toEqual({ state: "outgoing" });
      const aliceSees = await callerFor(alice.id).friends.requests();
      const bobSees = await callerFor(bob.id).friends.requests();
      expect(aliceSees).toEqual({ incoming: [], outgoing: [{ user: bob, createdAt: expect.any(String) }] });
      expect(bobSees).toEqual({ incoming: [{ user: alice, createdAt: aliceSees.outgoing[0]!.createdAt }], outgoing: [] });

      expect(await callerFor(bob.id).friends.accept({ userId: alice.id })).toEqual({ state: "friends" });
      expect(await friendIds(alice.id)).toEqual([bob.id]);
      expect(await friendIds(bob.id)).toEqual([alice.id]);
      expect(await callerFor(bob.id).friends.requests()).toEqual({ incoming: [], outgoing: [] });

      await settle();
      expect(aliceEvents).toEqual([
        { type: "friend.updated", userId: bob.id, state: "outgoing" },
        { type: "friend.updated", userId: bob.id, state: "friends" },
      ]);
      expect(bobEvents).toEqual([
        { type: "friend.updated", userId: alice.id, state: "incoming" },
        { type: "friend.updated", userId: alice.id, state: "friends" },
      ]);
    });

    it("asking someone who already asked me accepts; asking again or asking a friend changes nothing", async () => {
      const [alice, bob] = await createUsers(deps, 2);
      await callerFor(alice.id).friends.request({ userId: bob.id });
      expect(await callerFor(alice.id).friends.request({ userId: bob.id })).toEqual({ state: "outgoing" });
      expect(await callerFor(bob.id).friends.request({ userId: alice.id })).toEqual({ state: "friends" });
      expect(await callerFor(alice.id).friends.request({ userId: bob.id })).toEqual({ state: "friends" });
      expect(await friendIds(alice.id)).toEqual([bob.id]);
      expect(await deps.database.db.select().from(friendRequests).where(eq(friendRequests.toUserId, bob.id))).toEqual([]);
    });

    it("two people asking each other at the same time end as friends, not as two crossed requests", async () => {
      const [alice, bob] = await createUsers(deps, 2);
      const states = await Promise.all([
        callerFor(alice.id).friends.request({ userId: bob.id }),
        callerFor(bob.id).friends.request({ userId: alice.id }),
      ]);
      expect(states.map((outcome) => outcome.state).sort()).toEqual(["friends", "outgoing"]);
      expect(await friendIds(alice.id)).toEqual([bob.id]);
      expect(await callerFor(alice.id).friends.requests()).toEqual({ incoming: [], outgoing: [] });
    });

    it("refuses myself (BAD_REQUEST), unknown and deleted accounts (NOT_FOUND), and blocks either way (FORBIDDEN BLOCKED)", async () => {
      const [alice, bob, carol, deleted] = await createUsers(deps, 4);
      const api = callerFor(alice.id);
      expect(await trpcError(api.friends.request({ userId: alice.id }))).toMatchObject({ code: "BAD_REQUEST" });
      expect(await trpcError(api.friends.request({ userId: crypto.randomUUID() }))).toMatchObject({ code: "NOT_FOUND", message: "no such user" });
      await deps.database.db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, deleted.id));
      expect(await trpcError(api.friends.request({ userId: deleted.id }))).toMatchObject({ code: "NOT_FOUND", message: "no such user" });

      await deps.database.db.insert(userBlocks).values([
        { blockerId: alice.id, blockedId: bob.id },
        { blockerId: carol.id, blockedId: alice.id },
      ]);
      for (const target of [bob, carol]) {
        const error = await trpcError(api.friends.request({ userId: target.id }));
        expect(error).toMatchObject({ code: "FORBIDDEN", message: "you cannot send a friend request to this user" });
        expect(error.cause).toMatchObject({ reason: "BLOCKED" });
      }
      expect(await trpcError(callerFor(bob.id).friends.request({ userId: alice.id }))).toMatchObject({ code: "FORBIDDEN" });
      expect(await callerFor(bob.id).friends.requests()).toEqual({ incoming: [], outgoing: [] });
    });

    it("refuses accepting a request that was blocked after it was sent", async () => {
      const [alice, bob] = await createUsers(deps, 2);
      await callerFor(alice.id).friends.request({ userId: bob.id });
      await deps.database.db.insert(userBlocks).values({ blockerId: alice.id, blockedId: bob.id });
      expect(await trpcError(callerFor(bob.id).friends.accept({ userId: alice.id }))).toMatchObject({ code: "FORBIDDEN" });
      expect(await friendIds(bob.id)).toEqual([]);
    });

    it("is rate-limited per user, refused requests included (TOO_MANY_REQUESTS with retryAfterSeconds)", async () => {
      const limited = await createTestDeps(kind, { rateLimits: { friendRequestPerUser: { capacity: 3, periodSeconds: 600 } } });
      try {
        const [alice, ...others] = await createUsers(limited, 4);
        const api = callerWith(limited.services, alice.id);
        await api.friends.request({ userId: others[0].id });
        await api.friends.request({ userId: others[1].id });
        await trpcError(api.friends.request({ userId: crypto.randomUUID() }));
        const error = await trpcError(api.friends.request({ userId: others[2].id }));
        expect(error.code).toBe("TOO_MANY_REQUESTS");
        expect(error.cause).toMatchObject({ retryAfterSeconds: expect.any(Number) });
        // Someone else's allowance is their own.
        expect(await callerWith(limited.services, others[2].id).friends.request({ userId: alice.id })).toEqual({ state: "outgoing" });
      } finally {
        await limited.close();
      }
    });
  });

  describe("friends.decline, friends.cancel, friends.remove", () => {
    it("decline and cancel delete the request and tell both sides it is gone", async () => {
      const [alice, bob, carol] = await createUsers(deps, 3);
      await callerFor(alice.id).friends.request({ userId: bob.id });
      await callerFor(alice.id).friends.request({ userId: carol.id });
      const aliceEvents = await deps.recordEvents({ userId: alice.id });

      expect(await callerFor(bob.id).friends.decline({ userId: alice.id })).toEqual({ state: "none" });
      expect(await callerFor(alice.id).friends.cancel({ userId: carol.id })).toEqual({ state: "none" });
      expect(await callerFor(alice.id).friends.requests()).toEqual({ incoming: [], outgoing: [] });
      expect(await callerFor(carol.id).friends.requests()).toEqual({ incoming: [], outgoing: [] });
      await settle();
      expect(aliceEvents).toEqual([
        { type: "friend.updated", userId: bob.id, state: "none" },
        { type: "friend.updated", userId: carol.id, state: "none" },
      ]);
    });

    it("remove ends the friendship for both", async () => {
      const [alice, bob] = await createUsers(deps, 2);
      await callerFor(alice.id).friends.request({ userId: bob.id });
      await callerFor(bob.id).friends.accept({ userId: alice.id });
      expect(await callerFor(bob.id).friends.remove({ userId: alice.id })).toEqual({ state: "none" });
      expect(await friendIds(alice.id)).toEqual([]);
      expect(await friendIds(bob.id)).toEqual([]);
    });

    it("is NOT_FOUND when there is nothing to act on", async () => {
      const [alice, bob] = await createUsers(deps, 2);
      const api = callerFor(alice.id);
      expect(await trpcError(api.friends.accept({ userId: bob.id }))).toMatchObject({ code: "NOT_FOUND", message: "no friend request from this user" });
      expect(await trpcError(api.friends.decline({ userId: bob.id }))).toMatchObject({ code: "NOT_FOUND" });
      expect(await trpcError(api.friends.cancel({ userId: bob.id }))).toMatchObject({ code: "NOT_FOUND", message: "no friend request to this user" });
      expect(await trpcError(api.friends.remove({ userId: bob.id }))).toMatchObject({ code: "NOT_FOUND", message: "you are not friends with this user" });
      // My own outgoing request is not one I can accept.
      await api.friends.request({ userId: bob.id });
      expect(await trpcError(api.friends.accept({ userId: bob.id }))).toMatchObject({ code: "NOT_FOUND" });
      expect(await trpcError(api.friends.accept({ userId: crypto.randomUUID() }))).toMatchObject({ code: "NOT_FOUND" });
    });

    it("refuses malformed ids and unknown fields", async () => {
      const alice = await createUser(deps.database);
      const api = callerFor(alice.id);
      for (const call of [api.friends.request, api.friends.accept, api.friends.decline, api.friends.cancel, api.friends.remove]) {
        expect(await inputIssues(call({ userId: "not-a-uuid" }))).not.toEqual([]);
        expect(await inputIssues(call({ userId: alice.id, note: "hi" } as never))).not.toEqual([]);
      }
      expect(await inputIssues(api.friends.list({ limit: 101 }))).not.toEqual([]);
      expect(await inputIssues(api.friends.list({ cursor: "nonsense" }))).toEqual(["invalid cursor"]);
    });
  });

  describe("friends.list", () => {
    it("pages my friends newest first, each with presence: online or away while connected, else offline with last seen", async () => {
      const [me, first, second, third] = await createUsers(deps, 4);
      for (const friend of [first, second, third]) {
        await callerFor(me.id).friends.request({ userId: friend.id });
        await callerFor(friend.id).friends.accept({ userId: me.id });
      }
      const lastSeen = new Date("2026-01-02T03:04:05.000Z");
      await deps.database.db.update(users).set({ lastSeenAt: lastSeen }).where(eq(users.id, first.id));
      await deps.services.presence.connected(second.id, `c-${second.id}`);
      await deps.services.presence.connected(third.id, `c-${third.id}`);
      await deps.services.presence.set(third.id, "away");

      const page1 = await callerFor(me.id).friends.list({ limit: 2 });
      expect(page1.items).toEqual([
        { user: third, since: expect.any(String), status: "away", lastSeenAt: null },
        { user: second, since: expect.any(String), status: "online", lastSeenAt: null },
      ]);
      expect(page1.nextCursor).not.toBeNull();
      const page2 = await callerFor(me.id).friends.list({ limit: 2, cursor: page1.nextCursor! });
      expect(page2).toEqual({ items: [{ user: first, since: expect.any(String), status: "offline", lastSeenAt: lastSeen.toISOString() }], nextCursor: null });
      await deps.services.presence.disconnected(second.id, `c-${second.id}`);
      await deps.services.presence.disconnected(third.id, `c-${third.id}`);
    });

    it("leaves out friends in a block with me and deleted accounts", async () => {
      const [me, blocked, deleted, kept] = await createUsers(deps, 4);
      for (const friend of [blocked, deleted, kept]) {
        await callerFor(me.id).friends.request({ userId: friend.id });
        await callerFor(friend.id).friends.accept({ userId: me.id });
      }
      await deps.database.db.insert(userBlocks).values({ blockerId: blocked.id, blockedId: me.id });
      await deps.database.db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, deleted.id));
      expect(await friendIds(me.id)).toEqual([kept.id]);
    });
  });
});
