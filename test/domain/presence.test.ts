import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainEvent } from "../../src/domain/events.ts";
import { createPresenceService, type PresenceService, type PresenceTiming } from "../../src/domain/presence/presence.service.ts";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { users } from "../../src/infra/db/schema.ts";
import type { PresenceStore } from "../../src/infra/presence/presence-store.ts";
import { createMemoryRateLimiter } from "../../src/infra/rate-limit/memory.ts";
import { systemClock } from "../../src/lib/clock.ts";
import { createBusEventPublisher } from "../../src/realtime/event-publisher.ts";
import { createUser } from "../support/factories.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { callerFor, inputIssues } from "./trpc-calls.ts";

/** Short enough to wait out; the lease beats every 200 ms so a dead instance is swept quickly. */
const TIMING: PresenceTiming = { leaseMs: 600, offlineGraceMs: 200, typingTimeoutMs: 300 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** The store as seen through a link that can be cut: every call fails while it is. */
function cuttable(store: PresenceStore): { store: PresenceStore; cut(): void; heal(): void } {
  let down = false;
  const through = new Proxy(store, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => (down ? Promise.reject(new Error("link cut")) : value.apply(target, args));
    },
  });
  return { store: through, cut: () => void (down = true), heal: () => void (down = false) };
}

type PresenceEvent = Extract<DomainEvent, { type: "presence" }>;
type TypingEvent = Extract<DomainEvent, { type: "typing" }>;

describe("presence", () => {
  let deps: TestDeps;
  const others: PresenceService[] = [];
  beforeAll(async () => {
    deps = await createTestDeps("pglite", { presence: { timing: TIMING, instanceId: "a" } });
  });
  afterAll(async () => {
    for (const other of others) await other.stop();
    await deps?.close();
  });

  /** Another instance's presence service on the same store, bus and database; "dead" ones never beat. */
  async function instance(
    instanceId: string,
    options: {
      heartbeat?: "beating" | "dead";
      typingRate?: { capacity: number; periodSeconds: number };
      store?: PresenceStore;
      eventsMaxMembers?: number;
    } = {},
  ): Promise<PresenceService> {
    const service = createPresenceService({
      database: deps.database,
      rooms: deps.services.rooms,
      events: createBusEventPublisher(deps.bus),
      rateLimiter: createMemoryRateLimiter({ clock: systemClock }),
      store: options.store ?? deps.presenceStore,
      logger: deps.logger,
      typingRate: options.typingRate ?? { capacity: 1000, periodSeconds: 1 },
      clock: deps.clock,
      instanceId,
      timing: TIMING,
      eventsMaxMembers: options.eventsMaxMembers ?? 100,
    });
    others.push(service);
    if (options.heartbeat !== "dead") await service.start();
    return service;
  }

  /** A room shared by the given users, and a recorder of its presence and typing events. */
  async function sharedRoom(owner: UserPublic, ...members: UserPublic[]): Promise<{ room: Room; events: DomainEvent[] }> {
    const room = await deps.services.rooms.create(owner.id, { name: `presence ${Math.random()}`, kind: "public" });
    for (const member of members) await deps.services.rooms.join(member.id, room.id);
    return { room, events: await deps.recordEvents({ roomId: room.id }) };
  }
  const presenceOf = (events: DomainEvent[], userId: string): PresenceEvent[] =>
    events.filter((event): event is PresenceEvent => event.type === "presence" && event.userId === userId);
  const typingOf = (events: DomainEvent[], userId: string): TypingEvent[] =>
    events.filter((event): event is TypingEvent => event.type === "typing" && event.userId === userId);

  it("announces one online for several devices on two instances, and one offline with lastSeenAt after the last closes", async () => {
    const [alice, bob] = [await createUser(deps.database), await createUser(deps.database)];
    const { room, events } = await sharedRoom(alice, bob);
    const a = deps.services.presence;
    const b = await instance("b-devices");
    await Promise.all([a.connected(bob.id, "phone"), a.connected(bob.id, "tablet"), b.connected(bob.id, "laptop")]);
    await a.disconnected(bob.id, "phone");
    await b.disconnected(bob.id, "laptop");
    const closedAt = Date.now();
    await a.disconnected(bob.id, "tablet");
    expect(presenceOf(events, bob.id).map((event) => event.status)).toEqual(["online"]);

    await sleep(TIMING.offlineGraceMs + 150);
    const announced = presenceOf(events, bob.id);
    expect(announced).toEqual([
      { type: "presence", roomId: room.id, userId: bob.id, status: "online", lastSeenAt: null },
      { type: "presence", roomId: room.id, userId: bob.id, status: "offline", lastSeenAt: expect.any(String) },
    ]);
    const lastSeenAt = new Date(announced[1]?.lastSeenAt ?? 0).getTime();
    expect(lastSeenAt).toBeGreaterThanOrEqual(closedAt - 50);
    const [row] = await deps.database.db.select({ lastSeenAt: users.lastSeenAt }).from(users).where(eq(users.id, bob.id));
    expect(row?.lastSeenAt?.getTime()).toBe(lastSeenAt);
  });

  it("announces nothing at all when the last socket is replaced within the grace, even on another instance", async () => {
    const [alice, bob] = [await createUser(deps.database), await createUser(deps.database)];
    const { events } = await sharedRoom(alice, bob);
    await deps.services.presence.connected(bob.id, "old");
    await deps.services.presence.disconnected(bob.id, "old");
    await (await instance("b-reconnect")).connected(bob.id, "new");
    await sleep(TIMING.offlineGraceMs + 150);
    expect(presenceOf(events, bob.id).map((event) => event.status)).toEqual(["online"]);
  });

  it("takes a user offline on a surviving instance, once, when the instance holding their socket stops beating", async () => {
    const [alice, carol, dave] = [await createUser(deps.database), await createUser(deps.database), await createUser(deps.database)];
    const { events } = await sharedRoom(alice, carol, dave);
    const doomed = await instance("doomed", { heartbeat: "dead" }); // its lease runs out like a killed process's
    await doomed.connected(carol.id, "c1");
    await doomed.connected(dave.id, "d1");
    await deps.services.presence.connected(dave.id, "d2"); // dave also has a socket on the surviving instance
    const startedAt = Date.now();
    while (presenceOf(events, carol.id).length < 2 && Date.now() - startedAt < 5000) await sleep(50);
    expect(Date.now() - startedAt).toBeLessThan(TIMING.leaseMs * 2 + 500);
    await sleep(500);
    expect(presenceOf(events, carol.id).map((event) => event.status)).toEqual(["online", "offline"]);
    expect(presenceOf(events, dave.id).map((event) => event.status)).toEqual(["online"]);
  });

  it("converges after an instance is cut off from the store long enough to be swept, once the link heals", async () => {
    const [alice, erin] = [await createUser(deps.database), await createUser(deps.database)];
    const { events } = await sharedRoom(alice, erin);
    const link = cuttable(deps.presenceStore);
    const isolated = await instance("isolated", { store: link.store });
    await isolated.connected(erin.id, "e1");
    link.cut(); // a partition: the socket stays open on the isolated instance, which can no longer renew its lease
    await until(() => presenceOf(events, erin.id).length === 2);
    link.heal(); // its next beat finds the lease swept, opens a new one and records the live socket again
    await until(() => presenceOf(events, erin.id).length === 3);
    expect(presenceOf(events, erin.id).map((event) => event.status)).toEqual(["online", "offline", "online"]);
    expect(await deps.presenceStore.statuses([erin.id])).toEqual(new Map([[erin.id, "online"]]));
  });

  it("lets a connected user go away and back, announcing only changes; an offline user stays offline", async () => {
    const [alice, bob] = [await createUser(deps.database), await createUser(deps.database)];
    const { room, events } = await sharedRoom(alice, bob);
    const bobApi = callerFor(deps.services, bob.id);
    expect(await bobApi.presence.set({ status: "away" })).toEqual({ userId: bob.id, status: "offline", lastSeenAt: null });
    await deps.services.presence.connected(bob.id, "c1");
    expect(await bobApi.presence.set({ status: "away" })).toEqual({ userId: bob.id, status: "away", lastSeenAt: null });
    await bobApi.presence.set({ status: "away" });
    expect(await callerFor(deps.services, alice.id).presence.get({ userIds: [bob.id] })).toEqual([
      { userId: bob.id, status: "away", lastSeenAt: null },
    ]);
    await bobApi.presence.set({ status: "online" });
    expect(presenceOf(events, bob.id)).toEqual([
      { type: "presence", roomId: room.id, userId: bob.id, status: "online", lastSeenAt: null },
      { type: "presence", roomId: room.id, userId: bob.id, status: "away", lastSeenAt: null },
      { type: "presence", roomId: room.id, userId: bob.id, status: "online", lastSeenAt: null },
    ]);
  });

  it("announces presence only in rooms of at most PRESENCE_EVENTS_MAX_MEMBERS members; presence.get still answers in bigger ones", async () => {
    const [alice, bob, carol, dave] = await Promise.all(Array.from({ length: 4 }, () => createUser(deps.database)));
    if (!alice || !bob || !carol || !dave) throw new Error("users not created");
    const small = await sharedRoom(alice, bob);
    const big = await sharedRoom(alice, bob, carol, dave);
    const service = await instance("b-small-rooms", { eventsMaxMembers: 3 });
    await service.connected(bob.id, "b1");
    await settle();
    expect(presenceOf(small.events, bob.id).map((event) => event.status)).toEqual(["online"]);
    expect(presenceOf(big.events, bob.id)).toEqual([]);
    expect(await callerFor(deps.services, dave.id).presence.get({ userIds: [bob.id] })).toEqual([{ userId: bob.id, status: "online", lastSeenAt: null }]);
  });

  it("answers presence.get for up to 200 users, only those sharing a room with the caller (and the caller)", async () => {
    const [alice, bob, stranger, never] = await Promise.all(Array.from({ length: 4 }, () => createUser(deps.database)));
    if (!alice || !bob || !stranger || !never) throw new Error("users not created");
    await sharedRoom(alice, bob, never);
    await deps.services.presence.connected(bob.id, "b1");
    await deps.services.presence.connected(stranger.id, "s1");
    await deps.services.presence.connected(alice.id, "a1");
    await deps.services.presence.disconnected(alice.id, "a1");
    await sleep(TIMING.offlineGraceMs + 150);

    const api = callerFor(deps.services, alice.id);
    const unknown = crypto.randomUUID();
    const answer = await api.presence.get({ userIds: [bob.id, stranger.id, unknown, never.id, alice.id, bob.id] });
    expect(answer).toEqual([
      { userId: bob.id, status: "online", lastSeenAt: null },
      { userId: never.id, status: "offline", lastSeenAt: null },
      { userId: alice.id, status: "offline", lastSeenAt: expect.any(String) },
    ]);

    const many = Array.from({ length: 200 }, () => crypto.randomUUID());
    expect(await api.presence.get({ userIds: many })).toEqual([]);
    expect(await inputIssues(api.presence.get({ userIds: [...many, bob.id] }))).toEqual([expect.stringMatching(/200/)]);
    expect(await inputIssues(api.presence.get({ userIds: [] }))).toHaveLength(1);
    expect(await inputIssues(api.presence.get({ userIds: ["not-a-uuid"] }))).toHaveLength(1);
  });

  it("turns typing off on the server when neither a refresh nor a stop arrives, and when the typing socket closes", async () => {
    const [alice, bob] = [await createUser(deps.database), await createUser(deps.database)];
    const { room, events } = await sharedRoom(alice, bob);
    const presence = deps.services.presence;
    await presence.connected(bob.id, "typist");
    await presence.connected(bob.id, "other-tab");

    await presence.typing(bob.id, room.id, true, "typist");
    await sleep(TIMING.typingTimeoutMs * 0.6);
    await presence.typing(bob.id, room.id, true, "typist"); // a refresh pushes the expiry back
    await sleep(TIMING.typingTimeoutMs * 0.6);
    expect(typingOf(events, bob.id).map((event) => event.active)).toEqual([true, true]);
    await sleep(TIMING.typingTimeoutMs * 0.6);
    expect(typingOf(events, bob.id).map((event) => event.active)).toEqual([true, true, false]);

    await presence.typing(bob.id, room.id, true, "typist");
    await presence.typing(bob.id, room.id, false, "typist"); // an explicit stop: nothing left to expire
    await sleep(TIMING.typingTimeoutMs + 100);
    expect(typingOf(events, bob.id).map((event) => event.active)).toEqual([true, true, false, true, false]);

    await presence.typing(bob.id, room.id, true, "typist");
    await presence.disconnected(bob.id, "other-tab"); // another socket closing leaves it alone
    expect(typingOf(events, bob.id)).toHaveLength(6);
    await presence.disconnected(bob.id, "typist");
    await sleep(20);
    expect(typingOf(events, bob.id).map((event) => event.active)).toEqual([true, true, false, true, false, true, false]);
    await sleep(TIMING.typingTimeoutMs + 100);
    expect(typingOf(events, bob.id)).toHaveLength(7);
  });

  it("keeps typing rate-limited per user", async () => {
    const [alice, bob] = [await createUser(deps.database), await createUser(deps.database)];
    const { room, events } = await sharedRoom(alice, bob);
    const limited = await instance("b-limited", { typingRate: { capacity: 2, periodSeconds: 60 } });
    await limited.typing(bob.id, room.id, true, "c1");
    await limited.typing(bob.id, room.id, true, "c1");
    await expect(limited.typing(bob.id, room.id, true, "c1")).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });
    expect(typingOf(events, bob.id)).toHaveLength(2);
  });
});
