import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ServerEvent } from "../../src/contract.ts";
import { type Chatter, eventually, openChatterSocket, publicRoom, registerChatter } from "../support/chatters.ts";
import { createPostgresTestDatabase } from "../support/databases.ts";
import { uniqueRedisPrefix } from "../support/redis.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";
import type { TestSocket } from "../support/socket-client.ts";

type Presence = Extract<ServerEvent, { type: "presence" }>;
type Typing = Extract<ServerEvent, { type: "typing" }>;

const postgresUrl = inject("postgresUrl");
const redisUrl = inject("redisUrl");

/** Short settings so the suite is quick; the production defaults keep the same relations (lease ≤ 20 s). */
const LEASE_SECONDS = 2;
const GRACE_MS = 1000;
const TYPING_TIMEOUT_MS = 2000;

/** Presence across real Bun processes sharing one Postgres and one Redis, including one killed with SIGKILL. */
describe.skipIf(!postgresUrl || !redisUrl)("presence across instances", () => {
  const prefix = uniqueRedisPrefix();
  let database: { url: string; drop(): Promise<void> };
  let env: Record<string, string>;
  let a: ServerProcess;
  let b: ServerProcess;
  const extra: ServerProcess[] = [];
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl as string,
      REDIS_PREFIX: prefix,
      PRESENCE_LEASE_SECONDS: String(LEASE_SECONDS),
      PRESENCE_OFFLINE_GRACE_MS: String(GRACE_MS),
      PRESENCE_TYPING_TIMEOUT_MS: String(TYPING_TIMEOUT_MS),
    };
    a = await startServer("bun", { ...env, INSTANCE_ID: "presence-a" });
    b = await startServer("bun", { ...env, INSTANCE_ID: "presence-b" });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await Promise.all([a?.stop(), b?.stop(), ...extra.map((server) => server.stop("SIGKILL"))]);
    await database?.drop();
  });

  async function socketOn(server: ServerProcess, who: Chatter): Promise<TestSocket> {
    const socket = await openChatterSocket(server.url, who);
    sockets.push(socket);
    return socket;
  }

  const roomOf = publicRoom;

  const statuses = (socket: TestSocket, userId: string): string[] =>
    socket.events.filter((event): event is Presence => event.type === "presence" && event.userId === userId).map((event) => event.status);
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  it("announces a user with sockets on both instances online once, and offline once after both close", async () => {
    const [alice, bob] = [await registerChatter(a.url, "alice"), await registerChatter(b.url, "bob")];
    await roomOf(alice, bob);
    const watchers = [await socketOn(a, alice), await socketOn(b, alice)];
    const bobSockets = [await socketOn(a, bob), await socketOn(b, bob)];
    await eventually(() => watchers.every((watcher) => statuses(watcher, bob.user.id).includes("online")), () => "online");

    for (const socket of bobSockets) socket.close();
    await eventually(() => watchers.every((watcher) => statuses(watcher, bob.user.id).includes("offline")), () => "offline");
    await sleep(GRACE_MS + LEASE_SECONDS * 1000); // room for a duplicate to show up
    for (const watcher of watchers) expect(statuses(watcher, bob.user.id)).toEqual(["online", "offline"]);

    const offline = watchers[0]?.events.find((event): event is Presence => event.type === "presence" && event.status === "offline");
    const [seen] = await alice.client.api.presence.get.query({ userIds: [bob.user.id] });
    expect(seen).toEqual({ userId: bob.user.id, status: "offline", lastSeenAt: offline?.lastSeenAt });
  });

  it("makes a reconnect to the other instance within the grace no presence event at all", async () => {
    const [alice, bob] = [await registerChatter(a.url, "alice"), await registerChatter(a.url, "bob")];
    await roomOf(alice, bob);
    const watcher = await socketOn(a, alice);
    const first = await socketOn(a, bob);
    await eventually(() => statuses(watcher, bob.user.id).includes("online"), () => "online");
    first.close();
    await socketOn(b, bob);
    await sleep(GRACE_MS + LEASE_SECONDS * 1000);
    expect(statuses(watcher, bob.user.id)).toEqual(["online"]);
  });

  it("takes the users of a SIGKILLed instance offline on the survivors within 30 s, once, and only those with no other socket", async () => {
    const doomed = await startServer("bun", { ...env, INSTANCE_ID: "presence-doomed" });
    extra.push(doomed);
    const [alice, carol, dave] = [
      await registerChatter(a.url, "alice"),
      await registerChatter(a.url, "carol"),
      await registerChatter(a.url, "dave"),
    ];
    await roomOf(alice, carol, dave);
    const watcher = await socketOn(a, alice);
    await socketOn(doomed, carol);
    await socketOn(doomed, dave);
    await socketOn(b, dave);
    await eventually(() => statuses(watcher, carol.user.id).includes("online") && statuses(watcher, dave.user.id).includes("online"), () => "online");

    const killedAt = Date.now();
    await doomed.stop("SIGKILL");
    await eventually(() => statuses(watcher, carol.user.id).includes("offline"), () => JSON.stringify(watcher.events), 30_000);
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeLessThan(30_000);
    expect(tookMs).toBeLessThan(LEASE_SECONDS * 1000 * 3); // about 4/3 of the lease, with room for a slow machine
    await sleep(LEASE_SECONDS * 1000 * 2);
    expect(statuses(watcher, carol.user.id)).toEqual(["online", "offline"]);
    expect(statuses(watcher, dave.user.id)).toEqual(["online"]);
    const answer = await alice.client.api.presence.get.query({ userIds: [carol.user.id, dave.user.id] });
    expect(answer).toEqual([
      { userId: carol.user.id, status: "offline", lastSeenAt: expect.any(String) },
      { userId: dave.user.id, status: "online", lastSeenAt: null },
    ]);
  });

  it("leaves no ghost behind an instance stopped with SIGTERM: its drained users go offline once, after the grace", async () => {
    const drained = await startServer("bun", { ...env, INSTANCE_ID: "presence-drained" });
    extra.push(drained);
    const [alice, carol] = [await registerChatter(a.url, "alice"), await registerChatter(a.url, "carol")];
    await roomOf(alice, carol);
    const watcher = await socketOn(a, alice);
    await socketOn(drained, carol);
    await eventually(() => statuses(watcher, carol.user.id).includes("online"), () => "online");
    expect(await drained.stop("SIGTERM")).toBe(0);
    await eventually(() => statuses(watcher, carol.user.id).includes("offline"), () => JSON.stringify(watcher.events), 10_000);
    await sleep(LEASE_SECONDS * 1000);
    expect(statuses(watcher, carol.user.id)).toEqual(["online", "offline"]);
  });

  it("expires typing started on one instance for a socket on the other, with no stop from the client", async () => {
    const [alice, bob] = [await registerChatter(a.url, "alice"), await registerChatter(b.url, "bob")];
    const room = await roomOf(alice, bob);
    const watcher = await socketOn(a, alice);
    const typist = await socketOn(b, bob);
    typist.send({ type: "typing", roomId: room.id, active: true });
    const isTyping = (active: boolean) => (event: ServerEvent) => event.type === "typing" && event.userId === bob.user.id && event.active === active;
    await watcher.waitFor(isTyping(true));
    const startedAt = Date.now();
    await watcher.waitFor(isTyping(false), 8000);
    const tookMs = Date.now() - startedAt;
    expect(tookMs).toBeGreaterThanOrEqual(TYPING_TIMEOUT_MS - 300);
    expect(tookMs).toBeLessThanOrEqual(8000);
    const typing = watcher.events.filter((event): event is Typing => event.type === "typing" && event.userId === bob.user.id);
    expect(typing.map((event) => event.active)).toEqual([true, false]);
    expect(typist.events.some((event) => event.type === "error")).toBe(false);
  });

  it("announces away set over HTTP on one instance to a watcher on the other", async () => {
    const [alice, bob] = [await registerChatter(a.url, "alice"), await registerChatter(a.url, "bob")];
    await roomOf(alice, bob);
    const watcher = await socketOn(b, alice);
    await socketOn(a, bob);
    await eventually(() => statuses(watcher, bob.user.id).includes("online"), () => "online");
    expect(await bob.client.api.presence.set.mutate({ status: "away" })).toEqual({ userId: bob.user.id, status: "away", lastSeenAt: null });
    await eventually(() => statuses(watcher, bob.user.id).includes("away"), () => JSON.stringify(watcher.events));
    expect(statuses(watcher, bob.user.id)).toEqual(["online", "away"]);
  });
});
