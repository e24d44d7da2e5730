import { afterEach, describe, expect, it } from "vitest";
import type { PresenceStore } from "../../src/infra/presence/presence-store.ts";
import type { Clock } from "../../src/lib/clock.ts";

export interface PresenceStoreHarness {
  /** A store for one test (the suite closes it); several calls may share the backing state, like instances. */
  createStore(clock: Clock): Promise<PresenceStore>;
  /** "injected": the store reads `clock`, moved by hand. "real": it keeps its own time (Redis TIME), so the suite waits. */
  time: "injected" | "real";
}

let counter = 0;
/** Ids no other test uses: users, connections and instances are all plain strings to the store. */
function unique(label: string): string {
  counter += 1;
  return `${label}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

const LEASE_MS = 400;
const GRACE_MS = 150;

/** The PresenceStore port's specification, run against one implementation. */
export function testPresenceStore(name: string, harness: PresenceStoreHarness): void {
  describe(`PresenceStore contract: ${name}`, () => {
    let now = Date.now();
    const clock: Clock = { now: () => new Date(now) };
    const open: PresenceStore[] = [];
    async function createStore(): Promise<PresenceStore> {
      const store = await harness.createStore(clock);
      open.push(store);
      return store;
    }
    const passTime = async (ms: number): Promise<void> => {
      if (harness.time === "injected") now += ms;
      else await new Promise((resolve) => setTimeout(resolve, ms));
    };
    /** A store with two live instances. */
    async function twoInstances(): Promise<{ store: PresenceStore; a: string; b: string }> {
      const store = await createStore();
      const [a, b] = [unique("inst-a"), unique("inst-b")];
      await store.openLease(a, 60_000);
      await store.openLease(b, 60_000);
      return { store, a, b };
    }
    afterEach(async () => {
      await Promise.all(open.splice(0).map((store) => store.close()));
    });

    it("reports one online for a user's first device and one offline after the grace that follows the last", async () => {
      const { store, a, b } = await twoInstances();
      const user = unique("user");
      expect(await store.connect({ userId: user, connectionId: "phone", instance: a })).toBe("online");
      expect(await store.connect({ userId: user, connectionId: "laptop", instance: b })).toBe("unchanged");
      expect(await store.statuses([user])).toEqual(new Map([[user, "online"]]));

      expect(await store.disconnect({ userId: user, connectionId: "phone" }, GRACE_MS)).toBe("others-remain");
      const before = Date.now();
      expect(await store.disconnect({ userId: user, connectionId: "laptop" }, GRACE_MS)).toBe("last");
      expect(await store.settle({ userIds: [user] })).toEqual([]); // the grace is not over: still present
      expect(await store.statuses([user])).toEqual(new Map([[user, "online"]]));

      await passTime(GRACE_MS + 50);
      const [offline, ...more] = await store.settle({ userIds: [user] });
      expect(more).toEqual([]);
      expect(offline?.userId).toBe(user);
      expect(offline?.lastSeenAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(offline?.lastSeenAt.getTime()).toBeLessThanOrEqual(clock.now().getTime() + 1000);
      expect(await store.settle({ userIds: [user] })).toEqual([]);
      expect(await store.settle({ due: true, limit: 100 })).not.toContainEqual(expect.objectContaining({ userId: user }));
      expect(await store.statuses([user])).toEqual(new Map());
      expect(await store.disconnect({ userId: user, connectionId: "laptop" }, GRACE_MS)).toBe("unknown");
    });

    it("makes a reconnect within the grace no transition at all", async () => {
      const { store, a, b } = await twoInstances();
      const user = unique("user");
      await store.connect({ userId: user, connectionId: "c1", instance: a });
      expect(await store.disconnect({ userId: user, connectionId: "c1" }, GRACE_MS)).toBe("last");
      expect(await store.connect({ userId: user, connectionId: "c2", instance: b })).toBe("unchanged");
      await passTime(GRACE_MS + 50);
      expect(await store.settle({ userIds: [user] })).toEqual([]);
      expect(await store.settle({ due: true, limit: 100 })).not.toContainEqual(expect.objectContaining({ userId: user }));
      expect(await store.statuses([user])).toEqual(new Map([[user, "online"]]));
    });

    it("reports each transition exactly once when devices on two instances connect, drop and settle concurrently", async () => {
      const { store, a, b } = await twoInstances();
      const user = unique("user");
      const devices = Array.from({ length: 20 }, (_, i) => ({ userId: user, connectionId: `d${i}`, instance: i % 2 ? a : b }));
      const connects = await Promise.all(devices.map((device) => store.connect(device)));
      expect(connects.filter((outcome) => outcome === "online")).toHaveLength(1);
      const disconnects = await Promise.all(devices.map((device) => store.disconnect(device, 0)));
      expect(disconnects.filter((outcome) => outcome === "last")).toHaveLength(1);
      await passTime(5);
      const settles = await Promise.all([
        ...Array.from({ length: 5 }, () => store.settle({ userIds: [user] })),
        ...Array.from({ length: 5 }, () => store.settle({ due: true, limit: 1000 })),
      ]);
      expect(settles.flat().filter((offline) => offline.userId === user)).toHaveLength(1);
    });

    it("keeps away while present, reports whether it changed, and starts a new presence as online", async () => {
      const { store, a } = await twoInstances();
      const [user, stranger] = [unique("user"), unique("stranger")];
      expect(await store.setStatus(user, "away")).toBe("offline");
      await store.connect({ userId: user, connectionId: "c1", instance: a });
      expect(await store.setStatus(user, "away")).toBe("changed");
      expect(await store.setStatus(user, "away")).toBe("unchanged");
      expect(await store.statuses([user, stranger])).toEqual(new Map([[user, "away"]]));
      await store.disconnect({ userId: user, connectionId: "c1" }, 0);
      await passTime(5);
      expect(await store.settle({ userIds: [user] })).toHaveLength(1);
      expect(await store.connect({ userId: user, connectionId: "c2", instance: a })).toBe("online");
      expect(await store.statuses([user])).toEqual(new Map([[user, "online"]]));
    });

    it("refuses connections for an instance without a live lease, and never renews a swept lease", async () => {
      const store = await createStore();
      const instance = unique("inst");
      const user = unique("user");
      expect(await store.connect({ userId: user, connectionId: "c1", instance })).toBe("lease-lost");
      expect(await store.renewLease(instance, LEASE_MS)).toBe("lost");
      await store.openLease(instance, LEASE_MS);
      expect(await store.renewLease(instance, LEASE_MS)).toBe("renewed");
      expect(await store.connect({ userId: user, connectionId: "c1", instance })).toBe("online");
      await passTime(LEASE_MS + 100);
      expect(await store.connect({ userId: user, connectionId: "c2", instance })).toBe("lease-lost");
      expect(await store.claimExpired(60_000, 100)).toContain(instance);
      expect(await store.renewLease(instance, LEASE_MS)).toBe("lost");
    });

    it("gives an expired instance to one sweeper, whose release ends the presence only of users with nothing elsewhere", async () => {
      const store = await createStore();
      const [dead, alive] = [unique("dead"), unique("alive")];
      await store.openLease(dead, LEASE_MS);
      await store.openLease(alive, 60_000);
      const [lonely, roaming] = [unique("lonely"), unique("roaming")];
      await store.connect({ userId: lonely, connectionId: "l1", instance: dead });
      await store.connect({ userId: lonely, connectionId: "l2", instance: dead });
      await store.connect({ userId: roaming, connectionId: "r1", instance: dead });
      await store.connect({ userId: roaming, connectionId: "r2", instance: alive });
      expect(await store.claimExpired(60_000, 100)).not.toContain(dead);

      await passTime(LEASE_MS + 100);
      const claims = await Promise.all(Array.from({ length: 4 }, () => store.claimExpired(60_000, 100)));
      expect(claims.flat().filter((instance) => instance === dead)).toHaveLength(1);
      expect(claims.flat()).not.toContain(alive);
      expect(await store.releaseInstance(dead, { graceMs: 0, batch: 1 })).toBe("more");
      let outcome: "done" | "more" = "more";
      while (outcome === "more") outcome = await store.releaseInstance(dead, { graceMs: 0, batch: 1 });
      await passTime(5);
      const offline = await store.settle({ due: true, limit: 1000 });
      expect(offline.map((entry) => entry.userId).filter((id) => id === lonely || id === roaming)).toEqual([lonely]);
      expect(await store.statuses([lonely, roaming])).toEqual(new Map([[roaming, "online"]]));
      expect(await store.disconnect({ userId: roaming, connectionId: "r1" }, 0)).toBe("unknown");
      expect(await store.claimExpired(60_000, 100)).not.toContain(dead);
    });

    it("hands a sweep abandoned by its sweeper to another once the claim expires", async () => {
      const store = await createStore();
      const dead = unique("dead");
      await store.openLease(dead, 50);
      const user = unique("user");
      await store.connect({ userId: user, connectionId: "c1", instance: dead });
      await passTime(100);
      expect(await store.claimExpired(LEASE_MS, 100)).toContain(dead);
      expect(await store.claimExpired(LEASE_MS, 100)).not.toContain(dead); // claimed, sweeper "dies" here
      await passTime(LEASE_MS + 100);
      expect(await store.claimExpired(LEASE_MS, 100)).toContain(dead);
      expect(await store.releaseInstance(dead, { graceMs: 0, batch: 100 })).toBe("done");
      await passTime(5);
      expect(await store.settle({ userIds: [user] })).toHaveLength(1);
    });

    it("leaves a connection re-recorded under the instance's next lease to that lease", async () => {
      const store = await createStore();
      const [first, second] = [unique("inst-epoch1"), unique("inst-epoch2")];
      await store.openLease(first, 50);
      const user = unique("user");
      await store.connect({ userId: user, connectionId: "c1", instance: first });
      await passTime(100);
      expect(await store.claimExpired(60_000, 100)).toContain(first);
      await store.openLease(second, 60_000);
      expect(await store.connect({ userId: user, connectionId: "c1", instance: second })).toBe("unchanged");
      expect(await store.releaseInstance(first, { graceMs: 0, batch: 100 })).toBe("done");
      await passTime(5);
      expect(await store.settle({ due: true, limit: 1000 })).not.toContainEqual(expect.objectContaining({ userId: user }));
      expect(await store.disconnect({ userId: user, connectionId: "c1" }, 0)).toBe("last");
    });

    it("releases a stopping instance's connections with a grace, and drops its lease", async () => {
      const { store, a } = await twoInstances();
      const user = unique("user");
      await store.connect({ userId: user, connectionId: "c1", instance: a });
      expect(await store.releaseInstance(a, { graceMs: GRACE_MS, batch: 100 })).toBe("done");
      expect(await store.renewLease(a, LEASE_MS)).toBe("lost");
      expect(await store.settle({ userIds: [user] })).toEqual([]);
      await passTime(GRACE_MS + 50);
      expect((await store.settle({ due: true, limit: 1000 })).filter((entry) => entry.userId === user)).toHaveLength(1);
    });
  });
}
