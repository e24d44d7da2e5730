import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerEvent } from "../../src/contract.ts";
import type { MemberRole, Room, RoomSettings } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { messages, roomMutes, userBlocks } from "../../src/infra/db/schema.ts";
import { DomainError } from "../../src/lib/domain-error.ts";
import { FrameHandler } from "../../src/realtime/frames.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, setRole, token } from "./room-fixtures.ts";
import { callerFor, domainError, trpcError } from "./trpc-calls.ts";

/**
 * The send gate: decided in the group commit, under the room's lock, for every send whichever instance took it —
 * a mute (MUTED), an announcement room (POST_POLICY), a block between the two people of a direct room (BLOCKED) and
 * slow mode (TOO_MANY_REQUESTS, SLOW_MODE, with retryAfterSeconds). Moderators and up skip the post policy and slow
 * mode. A retry of a message already committed still answers the original.
 */
describe.each(databaseKinds)("the send gate on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const api = (user: UserPublic) => callerFor(deps.services, user.id);

  async function roomWith(owner: UserPublic, settings: Partial<RoomSettings>, ...others: [UserPublic, MemberRole][]): Promise<Room> {
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
    for (const [user, role] of others) {
      await deps.services.rooms.join(user.id, room.id);
      if (role !== "member") await setRole(deps, room.id, user.id, role);
    }
    if (Object.keys(settings).length > 0) await deps.services.rooms.update(owner.id, { roomId: room.id, settings });
    return deps.services.rooms.get(owner.id, room.id);
  }

  const send = (user: UserPublic, room: Room, body = "hello", clientMsgId = `g-${token()}`) =>
    deps.services.messages.send(user.id, { roomId: room.id, clientMsgId, body });

  /** As if the member's messages in the room had been sent `seconds` earlier. */
  async function backdate(user: UserPublic, room: Room, seconds: number): Promise<void> {
    await deps.database.db
      .update(messages)
      .set({ createdAt: sql`${messages.createdAt} - make_interval(secs => ${seconds})` })
      .where(and(eq(messages.roomId, room.id), eq(messages.senderId, user.id)));
  }

  async function mute(room: Room, user: UserPublic, expiresAt: Date | null): Promise<void> {
    await deps.database.db.insert(roomMutes).values({ roomId: room.id, userId: user.id, expiresAt });
  }

  describe("mutes", () => {
    it("refuses a muted member's send with FORBIDDEN reason MUTED, over tRPC too, and commits nothing", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, {}, [ann, "member"]);
      await mute(room, ann, null);
      expect(await domainError(send(ann, room))).toMatchObject({ code: "FORBIDDEN", message: "muted in this room", reason: "MUTED" });
      const refused = await trpcError(api(ann).messages.send({ roomId: room.id, clientMsgId: `g-${token()}`, body: "hi" }));
      expect(refused).toMatchObject({ code: "FORBIDDEN", message: "muted in this room" });
      expect(refused.cause).toMatchObject({ reason: "MUTED" });
      expect((await deps.services.rooms.get(owner.id, room.id)).lastSeq).toBe(room.lastSeq);
      await send(owner, room); // others still post
    });

    it("lets the member post again once the mute expires (by the service clock)", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, {}, [ann, "member"]);
      await mute(room, ann, new Date(deps.clock.now().getTime() + 60_000));
      expect(await domainError(send(ann, room))).toMatchObject({ reason: "MUTED" });
      deps.clock.advance(61_000);
      expect((await send(ann, room)).created).toBe(true);
    });

    it("gates moderators too: a mute is a mute", async () => {
      const [owner, mod] = await createUsers(deps, 2);
      const room = await roomWith(owner, {}, [mod, "moderator"]);
      await mute(room, mod, null);
      expect(await domainError(send(mod, room))).toMatchObject({ reason: "MUTED" });
    });
  });

  describe("post policy", () => {
    it("lets only moderators and up post in a room whose postPolicy is moderators (reason POST_POLICY)", async () => {
      const [owner, admin, mod, ann] = await createUsers(deps, 4);
      const room = await roomWith(owner, { postPolicy: "moderators" }, [admin, "admin"], [mod, "moderator"], [ann, "member"]);
      expect(await domainError(send(ann, room))).toMatchObject({
        code: "FORBIDDEN",
        message: "only owners, admins and moderators can post in this room",
        reason: "POST_POLICY",
      });
      for (const poster of [owner, admin, mod]) expect((await send(poster, room)).created).toBe(true);
      await deps.services.rooms.update(owner.id, { roomId: room.id, settings: { postPolicy: "everyone" } });
      expect((await send(ann, room)).created).toBe(true);
    });
  });

  describe("blocks in direct rooms", () => {
    it("refuses either person's send once one blocked the other (reason BLOCKED), and lets them talk again after", async () => {
      const [ann, bob] = await createUsers(deps, 2);
      const direct = await deps.services.rooms.openDirect(ann.id, bob.id);
      await send(ann, direct);
      await deps.database.db.insert(userBlocks).values({ blockerId: bob.id, blockedId: ann.id });
      for (const [from] of [[ann], [bob]] as const) {
        expect(await domainError(send(from, direct))).toMatchObject({
          code: "FORBIDDEN",
          message: "you cannot message this user",
          reason: "BLOCKED",
        });
      }
      await deps.database.db.delete(userBlocks).where(eq(userBlocks.blockerId, bob.id));
      expect((await send(ann, direct)).created).toBe(true);
    });

    it("does not gate shared group rooms: there a block only flags messages for the blocker", async () => {
      const [ann, bob] = await createUsers(deps, 2);
      const room = await roomWith(ann, {}, [bob, "member"]);
      await deps.database.db.insert(userBlocks).values({ blockerId: ann.id, blockedId: bob.id });
      expect((await send(bob, room)).created).toBe(true);
    });
  });

  describe("slow mode", () => {
    it("refuses a member's second message within slowModeSeconds with SLOW_MODE and the seconds left", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, { slowModeSeconds: 30 }, [ann, "member"]);
      await send(ann, room);
      const refused = await domainError(send(ann, room));
      expect(refused).toMatchObject({ code: "TOO_MANY_REQUESTS", message: "slow mode: one message every 30 seconds", reason: "SLOW_MODE" });
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(29);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(30);
      await backdate(ann, room, 20);
      const later = await domainError(send(ann, room));
      expect(later.retryAfterSeconds).toBeGreaterThanOrEqual(9);
      expect(later.retryAfterSeconds).toBeLessThanOrEqual(10);
      await backdate(ann, room, 10);
      expect((await send(ann, room)).created).toBe(true);
    });

    it("carries reason and retryAfterSeconds over tRPC", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, { slowModeSeconds: 60 }, [ann, "member"]);
      await send(ann, room);
      const refused = await trpcError(api(ann).messages.send({ roomId: room.id, clientMsgId: `g-${token()}`, body: "again" }));
      expect(refused.code).toBe("TOO_MANY_REQUESTS");
      expect(refused.cause).toMatchObject({ reason: "SLOW_MODE", retryAfterSeconds: 60 });
    });

    it("counts each member separately, and exempts moderators and up", async () => {
      const [owner, mod, ann, bob] = await createUsers(deps, 4);
      const room = await roomWith(owner, { slowModeSeconds: 60 }, [mod, "moderator"], [ann, "member"], [bob, "member"]);
      await send(ann, room);
      expect((await send(bob, room)).created).toBe(true);
      for (let i = 0; i < 3; i++) {
        expect((await send(mod, room)).created).toBe(true);
        expect((await send(owner, room)).created).toBe(true);
      }
    });

    it("refuses the second of two sends of one member that land in one batch", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, { slowModeSeconds: 60 }, [ann, "member"]);
      const [first, second] = await Promise.allSettled([send(ann, room, "one"), send(ann, room, "two")]);
      expect(first).toMatchObject({ status: "fulfilled", value: { created: true, message: { body: "one" } } });
      expect(second).toMatchObject({ status: "rejected", reason: { reason: "SLOW_MODE", retryAfterSeconds: 60 } });
    });

    it("still answers a retry of a message already committed with the original", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, { slowModeSeconds: 60 }, [ann, "member"]);
      const clientMsgId = `g-${token()}`;
      const sent = await send(ann, room, "once", clientMsgId);
      const retried = await send(ann, room, "once", clientMsgId);
      expect(retried).toEqual({ message: sent.message, created: false });
    });

    it("is off at 0, and turning it off lets a waiting member post at once", async () => {
      const [owner, ann] = await createUsers(deps, 2);
      const room = await roomWith(owner, { slowModeSeconds: 600 }, [ann, "member"]);
      await send(ann, room);
      expect(await domainError(send(ann, room))).toMatchObject({ reason: "SLOW_MODE" });
      await deps.services.rooms.update(owner.id, { roomId: room.id, settings: { slowModeSeconds: 0 } });
      expect((await send(ann, room)).created).toBe(true);
      expect((await send(ann, room)).created).toBe(true);
    });
  });

  describe("over the socket", () => {
    /** The frame handler of one socket of `user`, with what it sent back. */
    function socketOf(user: UserPublic): { handler: FrameHandler; sent: ServerEvent[] } {
      const sent: ServerEvent[] = [];
      const handler = new FrameHandler(
        { id: crypto.randomUUID(), userId: user.id, send: (event) => sent.push(event), close: () => {}, inRoom: () => true },
        { services: deps.services, logger: deps.logger, onResume: () => {}, budget: { capacity: 100, periodSeconds: 1 } },
      );
      return { handler, sent };
    }

    it("answers a refused send with an error frame carrying the reason (and retryAfterSeconds for slow mode)", async () => {
      const [owner, ann, bob] = await createUsers(deps, 3);
      const room = await roomWith(owner, { slowModeSeconds: 60 }, [ann, "member"], [bob, "member"]);
      await send(ann, room);
      await mute(room, bob, null);
      const annSocket = socketOf(ann);
      const bobSocket = socketOf(bob);
      annSocket.handler.receive(JSON.stringify({ type: "send", roomId: room.id, clientMsgId: "slow-mode-0001", body: "again" }));
      bobSocket.handler.receive(JSON.stringify({ type: "send", roomId: room.id, clientMsgId: "muted-000001", body: "hi" }));
      await settle(300);
      expect(annSocket.sent).toEqual([
        {
          type: "error",
          code: "TOO_MANY_REQUESTS",
          message: "slow mode: one message every 60 seconds",
          clientMsgId: "slow-mode-0001",
          retryAfterSeconds: expect.any(Number),
          reason: "SLOW_MODE",
        },
      ]);
      expect(bobSocket.sent).toEqual([
        { type: "error", code: "FORBIDDEN", message: "muted in this room", clientMsgId: "muted-000001", reason: "MUTED" },
      ]);
    });
  });

  it("refuses with a DomainError, never an internal error", async () => {
    const [owner, ann] = await createUsers(deps, 2);
    const room = await roomWith(owner, { postPolicy: "moderators", slowModeSeconds: 5 }, [ann, "member"]);
    await mute(room, ann, null);
    // Every rule applies; the lasting one answers first.
    const refused = await domainError(send(ann, room));
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused.reason).toBe("MUTED");
  });
});
