import { Redis } from "ioredis";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { createParleyClient } from "../../client-sdk/src/index.ts";
import type { ServerEvent } from "../../src/contract.ts";
import { type Chatter, eventually, openChatterSocket, publicRoom, registerChatter } from "../support/chatters.ts";
import { createPostgresTestDatabase } from "../support/databases.ts";
import { uniqueRedisPrefix } from "../support/redis.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";
import type { TestSocket } from "../support/socket-client.ts";

type MessageCreated = Extract<ServerEvent, { type: "message.created" }>;

const postgresUrl = inject("postgresUrl");
const redisUrl = inject("redisUrl");

/** Two Bun instances sharing one Postgres and one Redis: the production shape, on one machine. */
describe.skipIf(!postgresUrl || !redisUrl)("two Bun instances on one Postgres and Redis", () => {
  const prefix = uniqueRedisPrefix();
  let database: { url: string; drop(): Promise<void> };
  let a: ServerProcess;
  let b: ServerProcess;
  let redis: Redis;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl as string, REDIS_PREFIX: prefix };
    // Booting together on an empty database also exercises the migration lock.
    [a, b] = await Promise.all([
      startServer("bun", { ...env, INSTANCE_ID: "inst-a" }),
      startServer("bun", { ...env, INSTANCE_ID: "inst-b" }),
    ]);
    redis = new Redis(redisUrl as string);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await Promise.all([a?.stop(), b?.stop()]);
    redis?.disconnect();
    await database?.drop();
  });

  async function socketOn(server: ServerProcess, who: Chatter): Promise<TestSocket> {
    const socket = await openChatterSocket(server.url, who);
    sockets.push(socket);
    return socket;
  }

  const roomOf = publicRoom;

  const seqsIn = (socket: TestSocket, roomId: string): number[] =>
    socket.events
      .filter((event): event is MessageCreated => event.type === "message.created" && event.roomId === roomId)
      .map((event) => event.seq);

  /** The number of channels held by the instance's bus subscriber connection, from Redis itself. */
  async function subscriptionsOf(instanceId: string): Promise<{ sub: number; psub: number }> {
    const clients = (await redis.call("CLIENT", "LIST", "TYPE", "pubsub")) as string;
    const line = clients.split("\n").find((entry) => entry.includes(` name=parley-bus-sub:${instanceId} `));
    if (!line) throw new Error(`no subscriber connection for ${instanceId}:\n${clients}`);
    const field = (name: string): number => Number(new RegExp(` ${name}=(\\d+)`).exec(line)?.[1]);
    return { sub: field("sub"), psub: field("psub") };
  }

  async function subscribers(topic: string): Promise<number> {
    const [, count] = (await redis.pubsub("NUMSUB", `${prefix}rt:${topic}`)) as [string, number];
    return Number(count);
  }

  it("delivers a message sent through A to a socket on B exactly once, and back to A's own sockets", async () => {
    const alice = await registerChatter(a.url, "alice");
    const bob = await registerChatter(b.url, "bob");
    const room = await roomOf(alice, bob);
    const onB = await socketOn(b, bob);
    const onA = await socketOn(a, alice);

    for (let i = 1; i <= 30; i++) {
      await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: `cross-${String(i).padStart(4, "0")}`, body: `#${i}` });
    }
    const expected = Array.from({ length: 30 }, (_, i) => room.lastSeq + i + 1); // after bob's join
    await eventually(() => seqsIn(onB, room.id).length >= 30 && seqsIn(onA, room.id).length >= 30, () => `${seqsIn(onB, room.id)}`);
    await new Promise((resolve) => setTimeout(resolve, 200)); // room for a duplicate to show up
    expect(seqsIn(onB, room.id)).toEqual(expected);
    expect(seqsIn(onA, room.id)).toEqual(expected);
  });

  it("gives every subscriber on both instances the same gapless order when senders on A and B write at once", async () => {
    const alice = await registerChatter(a.url, "alice");
    const bob = await registerChatter(b.url, "bob");
    const room = await roomOf(alice, bob);
    const [aliceOnA, bobOnB] = [await socketOn(a, alice), await socketOn(b, bob)];
    const [aliceOnB, bobOnA] = [await socketOn(b, alice), await socketOn(a, bob)];

    for (let i = 0; i < 25; i++) {
      aliceOnA.send({ type: "send", roomId: room.id, clientMsgId: `from-a-${String(i).padStart(4, "0")}`, body: `a${i}` });
      bobOnB.send({ type: "send", roomId: room.id, clientMsgId: `from-b-${String(i).padStart(4, "0")}`, body: `b${i}` });
    }
    const all = [aliceOnA, bobOnB, aliceOnB, bobOnA];
    await eventually(() => all.every((socket) => seqsIn(socket, room.id).length >= 50), () => all.map((s) => seqsIn(s, room.id).length).join());
    const expected = Array.from({ length: 50 }, (_, i) => room.lastSeq + i + 1);
    const history = await alice.client.api.messages.list.query({ roomId: room.id, limit: 100 });
    for (const socket of all) {
      expect(seqsIn(socket, room.id)).toEqual(expected);
      const bodies = socket.events.flatMap((event) => (event.type === "message.created" && event.roomId === room.id ? [event.message.body] : []));
      expect(bodies).toEqual(history.messages.map((message) => message.body));
    }
  });

  it("reaches sockets on the other instance within 5 s when a session logs out or a member is removed", async () => {
    const alice = await registerChatter(a.url, "alice");
    const bob = await registerChatter(a.url, "bob");
    const room = await roomOf(alice, bob);
    const bobOnB = await socketOn(b, bob);
    const aliceOnB = await socketOn(b, alice);

    const kickedAt = Date.now();
    await alice.client.api.rooms.kick.mutate({ roomId: room.id, userId: bob.user.id }); // through A
    await bobOnB.waitFor((event) => event.type === "room.membership" && event.membership === "removed", 5000);
    expect(Date.now() - kickedAt).toBeLessThan(5000);
    await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "after-the-kick-0001", body: "not for bob" });
    await aliceOnB.waitFor((event) => event.type === "message.created" && event.roomId === room.id);
    expect(seqsIn(bobOnB, room.id)).toEqual([]);

    const loggedOutAt = Date.now();
    await alice.client.logout(); // through A
    expect((await aliceOnB.closed).code).toBe(4001);
    expect(Date.now() - loggedOutAt).toBeLessThan(5000);
  });

  it("closes on B, within 5 s, every socket of an account deleted through A; its token is refused on both and the room sees it leave", async () => {
    const erin = await registerChatter(a.url, "erin");
    const fred = await registerChatter(a.url, "fred");
    const room = await roomOf(fred, erin);
    const erinOnB = await socketOn(b, erin);
    const fredOnB = await socketOn(b, fred);
    const token = erin.client.tokens()?.accessToken;
    if (!token) throw new Error("no access token");

    const deletedAt = Date.now();
    await erin.client.api.auth.deleteAccount.mutate({ password: "correct horse battery staple" }); // through A
    expect((await erinOnB.closed).code).toBe(4001);
    expect(Date.now() - deletedAt).toBeLessThan(5000);
    await fredOnB.waitFor((event) => event.type === "member.left" && event.roomId === room.id && event.userId === erin.user.id, 5000);
    for (const server of [a, b]) {
      const answer = await fetch(`${server.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });
      expect(answer.status).toBe(401);
    }
  });

  it("refuses on B, at once, an access token logged out through A — though B had just verified (and cached) it", async () => {
    const dave = await registerChatter(a.url, "dave");
    const token = dave.client.tokens()?.accessToken;
    if (!token) throw new Error("no access token");
    const me = (server: ServerProcess): Promise<number> =>
      fetch(`${server.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } }).then((response) => response.status);
    expect(await me(b)).toBe(200);
    expect(await me(b)).toBe(200); // the second answer comes from B's session cache
    await dave.client.logout(); // through A
    expect(await me(b)).toBe(401);
    expect(await me(a)).toBe(401);
  });

  it("closes exactly the revoked session's sockets, on both instances, within 5 s", async () => {
    const erin = await registerChatter(a.url, "erin");
    // A second sign-in of the same person: another session, as from a laptop beside a phone.
    const laptop = createParleyClient({ url: b.url, WebSocket });
    await laptop.login({ login: erin.user.username, password: "correct horse battery staple" });
    const laptopChatter = { ...erin, client: laptop };
    const phoneOnA = await socketOn(a, erin);
    const phoneOnB = await socketOn(b, erin);
    const laptopOnA = await socketOn(a, laptopChatter);
    const laptopOnB = await socketOn(b, laptopChatter);

    const sessions = await laptop.api.auth.sessions.query();
    const phone = sessions.find((session) => !session.current);
    if (!phone || sessions.length !== 2) throw new Error(`expected two sessions, got ${JSON.stringify(sessions)}`);
    const revokedAt = Date.now();
    await laptop.api.auth.revokeSession.mutate({ sessionId: phone.id }); // through B
    const closes = await Promise.all([phoneOnA.closed, phoneOnB.closed]);
    expect(closes.map((close) => close.code)).toEqual([4001, 4001]);
    expect(Date.now() - revokedAt).toBeLessThan(5000);

    // The laptop's sockets on both instances stay open and keep hearing the room.
    const room = await roomOf(laptopChatter);
    laptopOnA.send({ type: "send", roomId: room.id, clientMsgId: "still-here-0001", body: "still here" });
    for (const socket of [laptopOnA, laptopOnB]) {
      await socket.waitFor((event) => event.type === "message.created" && event.roomId === room.id, 5000);
    }
    expect(laptopOnA.raw.readyState).toBe(WebSocket.OPEN);
    expect(laptopOnB.raw.readyState).toBe(WebSocket.OPEN);
    await expect(erin.client.api.auth.me.query()).rejects.toThrow();
    await laptop.logout();
  });

  it("holds Redis subscriptions on an instance only for the rooms and users of its own sockets", async () => {
    const carol = await registerChatter(a.url, "carol");
    const dave = await registerChatter(a.url, "dave");
    const roomOfCarol = await roomOf(carol);
    const roomOfDave = await roomOf(dave);
    const before = { a: await subscriptionsOf("inst-a"), b: await subscriptionsOf("inst-b") };

    const carolOnB = await socketOn(b, carol);
    await socketOn(a, dave);
    expect(await subscriptionsOf("inst-b")).toEqual({ sub: before.b.sub + 2, psub: 0 }); // user:carol + carol's room
    expect(await subscriptionsOf("inst-a")).toEqual({ sub: before.a.sub + 2, psub: 0 }); // user:dave + dave's room
    expect(await subscribers(`room:${roomOfCarol.id}`)).toBe(1);
    expect(await subscribers(`room:${roomOfDave.id}`)).toBe(1);

    // Leaving releases the room's channel on B; closing the last socket releases the user's.
    await carol.client.api.rooms.leave.mutate({ roomId: roomOfCarol.id });
    await vi.waitFor(async () => expect(await subscribers(`room:${roomOfCarol.id}`)).toBe(0));
    expect(await subscriptionsOf("inst-b")).toEqual({ sub: before.b.sub + 1, psub: 0 });
    carolOnB.close();
    await vi.waitFor(async () => expect(await subscriptionsOf("inst-b")).toEqual({ sub: before.b.sub, psub: 0 }));
  });
});
