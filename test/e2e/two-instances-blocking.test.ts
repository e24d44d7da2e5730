import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ServerEvent } from "../../src/contract.ts";
import { type Chatter, eventually, openChatterSocket, publicRoom, registerChatter } from "../support/chatters.ts";
import { createPostgresTestDatabase } from "../support/databases.ts";
import { uniqueRedisPrefix } from "../support/redis.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";
import type { TestSocket } from "../support/socket-client.ts";

const postgresUrl = inject("postgresUrl");
const redisUrl = inject("redisUrl");

/**
 * Blocking across two Bun instances on one Postgres and Redis: a block made through one instance hides presence and
 * typing both ways on every instance's sockets (the blocker's through block.updated, the blocked side's through
 * blocks.changed), while the room's messages still reach everyone — flagged for the blocker when read, and not
 * counted as unread for them.
 */
describe.skipIf(!postgresUrl || !redisUrl)("blocking on two Bun instances", () => {
  const prefix = uniqueRedisPrefix();
  let database: { url: string; drop(): Promise<void> };
  let a: ServerProcess;
  let b: ServerProcess;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl as string, REDIS_PREFIX: prefix };
    a = await startServer("bun", { ...env, INSTANCE_ID: "block-a" });
    b = await startServer("bun", { ...env, INSTANCE_ID: "block-b" });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  async function socketOn(server: ServerProcess, who: Chatter): Promise<TestSocket> {
    const socket = await openChatterSocket(server.url, who);
    sockets.push(socket);
    return socket;
  }

  const about = (socket: TestSocket, userId: string, roomId: string): ServerEvent[] =>
    socket.events.filter(
      (event) => (event.type === "typing" || event.type === "presence") && event.roomId === roomId && event.userId === userId,
    );

  /**
   * `who` types in the room (through their socket) and carol — who blocked nobody, on A — sees it; then `who` sends
   * a message through the API of the instance they typed on, so it is published after the typing frame: once
   * `readers` have the message, they have had every chance to get the typing frame too.
   */
  async function typeThenMarker(who: Chatter, socket: TestSocket, roomId: string, watcher: TestSocket, readers: TestSocket[]): Promise<void> {
    const seen = about(watcher, who.user.id, roomId).length;
    socket.send({ type: "typing", roomId, active: seen % 2 === 0 });
    await eventually(() => about(watcher, who.user.id, roomId).length > seen, () => "the watcher never saw the typing frame", 5000);
    const body = `marker-${crypto.randomUUID()}`;
    await who.client.api.messages.send.mutate({ roomId, clientMsgId: body, body });
    for (const reader of readers) await reader.waitFor((event) => event.type === "message.created" && event.message.body === body, 5000);
  }

  it("hides presence and typing both ways on every instance, keeps messages flowing (flagged, not counted), and undoes it on unblock", async () => {
    const alice = await registerChatter(a.url, "alice");
    const bob = await registerChatter(b.url, "bob");
    const carol = await registerChatter(a.url, "carol");
    const room = await publicRoom(alice, bob, carol);
    const aliceOnA = await socketOn(a, alice);
    const bobOnB = await socketOn(b, bob);
    const carolOnA = await socketOn(a, carol);

    // Before: typing crosses instances both ways.
    await typeThenMarker(bob, bobOnB, room.id, carolOnA, [aliceOnA]);
    await typeThenMarker(alice, aliceOnA, room.id, carolOnA, [bobOnB]);
    expect(about(aliceOnA, bob.user.id, room.id)).not.toEqual([]);
    expect(about(bobOnB, alice.user.id, room.id)).not.toEqual([]);

    const blockedAt = Date.now();
    await alice.client.api.users.block.mutate({ userId: bob.user.id }); // through A
    await aliceOnA.waitFor((event) => event.type === "block.updated" && event.userId === bob.user.id && event.blocked, 5000);

    // B learns through blocks.changed (consumed there, never forwarded to bob): within moments alice's typing stops
    // reaching bob, while carol keeps getting it.
    for (let round = 0; ; round++) {
      const bobSaw = about(bobOnB, alice.user.id, room.id).length;
      await typeThenMarker(alice, aliceOnA, room.id, carolOnA, [bobOnB]);
      if (about(bobOnB, alice.user.id, room.id).length === bobSaw) break;
      expect(round, "B never learned of the block").toBeLessThan(30);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(Date.now() - blockedAt).toBeLessThan(5000);
    expect(bobOnB.events.some((event) => (event.type as string) === "blocks.changed" || event.type === "block.updated")).toBe(false);

    // Bob's typing and presence reach carol but not alice (both on A: screened per socket).
    const aliceSaw = about(aliceOnA, bob.user.id, room.id).length;
    await typeThenMarker(bob, bobOnB, room.id, carolOnA, [aliceOnA]);
    await bob.client.api.presence.set.mutate({ status: "away" }); // through B: announced before it answers
    await carolOnA.waitFor((event) => event.type === "presence" && event.userId === bob.user.id && event.status === "away", 5000);
    await typeThenMarker(bob, bobOnB, room.id, carolOnA, [aliceOnA]);
    expect(about(aliceOnA, bob.user.id, room.id)).toHaveLength(aliceSaw);

    // presence.get, on either instance, leaves each out for the other.
    expect(await alice.client.api.presence.get.query({ userIds: [bob.user.id, carol.user.id] })).toEqual([
      expect.objectContaining({ userId: carol.user.id }),
    ]);
    expect((await bob.client.api.presence.get.query({ userIds: [alice.user.id] })).map((view) => view.userId)).toEqual([]);

    // Bob's messages stay (everyone got them live), flagged when alice reads, and not unread for her.
    const history = await alice.client.api.messages.list.query({ roomId: room.id });
    const fromBob = history.messages.filter((message) => message.sender.id === bob.user.id);
    expect(fromBob.length).toBeGreaterThan(0);
    expect(fromBob.every((message) => message.senderBlocked === true)).toBe(true);
    expect(history.messages.filter((message) => message.sender.id !== bob.user.id).every((message) => message.senderBlocked === undefined)).toBe(true);
    expect((await carol.client.api.messages.list.query({ roomId: room.id })).messages.every((message) => message.senderBlocked === undefined)).toBe(true);
    const aliceRoom = (await alice.client.api.rooms.list.query()).find((listed) => listed.id === room.id);
    const carolRoom = (await carol.client.api.rooms.list.query()).find((listed) => listed.id === room.id);
    expect(aliceRoom?.unread).toBe(history.messages.filter((message) => message.sender.id === carol.user.id).length);
    expect(carolRoom?.unread).toBe(history.messages.filter((message) => message.sender.id !== carol.user.id).length);

    // Unblocked: typing reaches both again, within moments (each socket re-reads its set when told).
    await alice.client.api.users.unblock.mutate({ userId: bob.user.id });
    await aliceOnA.waitFor((event) => event.type === "block.updated" && event.userId === bob.user.id && !event.blocked, 5000);
    for (let round = 0; ; round++) {
      const aliceSaw = about(aliceOnA, bob.user.id, room.id).length;
      await typeThenMarker(bob, bobOnB, room.id, carolOnA, [aliceOnA]);
      if (about(aliceOnA, bob.user.id, room.id).length > aliceSaw) break;
      expect(round, "A never learned of the unblock").toBeLessThan(30);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (let round = 0; ; round++) {
      const bobSaw = about(bobOnB, alice.user.id, room.id).length;
      await typeThenMarker(alice, aliceOnA, room.id, carolOnA, [bobOnB]);
      if (about(bobOnB, alice.user.id, room.id).length > bobSaw) break;
      expect(round, "B never learned of the unblock").toBeLessThan(30);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it("flags a blocked sender's live messages in the blocker's SDK room view, and unflags them on unblock", async () => {
    const alice = await registerChatter(a.url, "alice");
    const bob = await registerChatter(b.url, "bob");
    const room = await publicRoom(alice, bob);
    const view = alice.client.realtime.view(room.id);
    alice.client.realtime.connect();
    try {
      await view.ready();
      await alice.client.api.users.block.mutate({ userId: bob.user.id });
      await eventually(() => alice.client.realtime.blocked.has(bob.user.id), () => "the SDK never learned of the block", 5000);
      await bob.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "live-from-bob", body: "live from bob" }); // through B
      await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "live-from-alice", body: "live from alice" });
      await eventually(() => view.messages().length === 2, () => JSON.stringify(view.messages().map((message) => message.body)), 5000);
      expect(view.messages().map((message) => [message.body, message.senderBlocked === true])).toEqual([
        ["live from bob", true],
        ["live from alice", false],
      ]);
      // What the view shows is what a fresh read answers.
      const fresh = await alice.client.api.messages.list.query({ roomId: room.id });
      expect(fresh.messages.map((message) => [message.body, message.senderBlocked === true])).toEqual([
        ["live from bob", true],
        ["live from alice", false],
      ]);
      await alice.client.api.users.unblock.mutate({ userId: bob.user.id });
      await eventually(() => view.messages()[0]?.senderBlocked === undefined, () => "still flagged after unblock", 5000);
    } finally {
      view.close();
      alice.client.realtime.disconnect();
    }
  });

  // Enabled after slice 2 (the send gate refusing sends into a direct room with a block) merges.
  it.skip("stops a DM's delivery both ways: neither can send into it once either blocked the other", async () => {
    const alice = await registerChatter(a.url, "alice");
    const bob = await registerChatter(b.url, "bob");
    const dm = await alice.client.api.rooms.openDirect.mutate({ userId: bob.user.id });
    const aliceOnA = await socketOn(a, alice);
    const bobOnB = await socketOn(b, bob);
    await alice.client.api.messages.send.mutate({ roomId: dm.id, clientMsgId: "dm-before-block", body: "before" });
    await bobOnB.waitFor((event) => event.type === "message.created" && event.roomId === dm.id, 5000);

    await alice.client.api.users.block.mutate({ userId: bob.user.id });
    for (const [sender, clientMsgId] of [
      [bob, "dm-from-blocked"],
      [alice, "dm-from-blocker"],
    ] as const) {
      await expect(sender.client.api.messages.send.mutate({ roomId: dm.id, clientMsgId, body: "after" })).rejects.toMatchObject({
        data: { code: "FORBIDDEN", reason: "BLOCKED" },
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const socket of [aliceOnA, bobOnB]) {
      expect(socket.events.filter((event) => event.type === "message.created" && event.roomId === dm.id && event.message.body === "after")).toEqual([]);
    }
  });
});
