import { afterEach, describe, expect, it } from "vitest";
import type { KeyValueStore } from "../../src/infra/kv/kv.ts";
import type { Clock } from "../../src/lib/clock.ts";

export interface KeyValueHarness {
  /** A store for one test; the suite closes it. Implementations that take a clock get this one. */
  createStore(clock: Clock): Promise<KeyValueStore>;
  /**
   * "injected": the store reads `clock`, which the suite moves by hand. "real": the store keeps its own time
   * (Redis expires keys itself), so the suite really waits — TTL tests then use 1 s and one short wait.
   */
  time: "injected" | "real";
  /** Implementation-specific specifications, run inside the same describe block. */
  additionalTests?(): void;
}

let keyCounter = 0;
export function uniqueKey(label = "key"): string {
  keyCounter += 1;
  return `${label}:${keyCounter}:${Math.random().toString(36).slice(2, 8)}`;
}

/** The KeyValueStore port's specification, run against one implementation. */
export function testKeyValueStore(name: string, harness: KeyValueHarness): void {
  describe(`KeyValueStore contract: ${name}`, () => {
    let now = Date.now();
    const clock: Clock = { now: () => new Date(now) };
    const open: KeyValueStore[] = [];
    const createStore = async (): Promise<KeyValueStore> => {
      const store = await harness.createStore(clock);
      open.push(store);
      return store;
    };
    const passTime = async (ms: number): Promise<void> => {
      if (harness.time === "injected") now += ms;
      else await new Promise((resolve) => setTimeout(resolve, ms));
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((store) => store.close()));
    });

    it("returns what was set, and null for a key never set", async () => {
      const store = await createStore();
      const key = uniqueKey();
      await store.set(key, "value", { ttlSeconds: 60 });
      expect(await store.get(key)).toBe("value");
      expect(await store.get(uniqueKey("missing"))).toBeNull();
    });

    it("overwrites on set and forgets on delete (deleting a missing key is fine)", async () => {
      const store = await createStore();
      const key = uniqueKey();
      await store.set(key, "first", { ttlSeconds: 60 });
      await store.set(key, "second", { ttlSeconds: 60 });
      expect(await store.get(key)).toBe("second");
      await store.delete(key);
      expect(await store.get(key)).toBeNull();
      await expect(store.delete(key)).resolves.toBeUndefined();
    });

    it("expires a key after its TTL, after which setIfAbsent sets it again", async () => {
      const store = await createStore();
      const [short, taken, long] = [uniqueKey("short"), uniqueKey("taken"), uniqueKey("long")];
      await store.set(short, "brief", { ttlSeconds: 1 });
      await store.set(taken, "brief", { ttlSeconds: 1 });
      await store.set(long, "lasting", { ttlSeconds: 60 });
      expect(await store.setIfAbsent(short, "too early", { ttlSeconds: 60 })).toBe("exists");

      await passTime(1100);
      expect(await store.get(short)).toBeNull();
      expect(await store.take(taken)).toBeNull();
      expect(await store.get(long)).toBe("lasting");
      expect(await store.setIfAbsent(short, "renewed", { ttlSeconds: 60 })).toBe("set");
      expect(await store.get(short)).toBe("renewed");
    });

    it("setIfAbsent sets an absent key and leaves a present one alone", async () => {
      const store = await createStore();
      const key = uniqueKey();
      expect(await store.setIfAbsent(key, "first", { ttlSeconds: 60 })).toBe("set");
      expect(await store.setIfAbsent(key, "second", { ttlSeconds: 60 })).toBe("exists");
      expect(await store.get(key)).toBe("first");
    });

    it("take returns the value once and removes the key", async () => {
      const store = await createStore();
      const key = uniqueKey("ticket");
      await store.set(key, "one-time", { ttlSeconds: 60 });
      expect(await store.take(key)).toBe("one-time");
      expect(await store.take(key)).toBeNull();
      expect(await store.get(key)).toBeNull();
    });

    it("gives the value to exactly one of 50 concurrent takes", async () => {
      const store = await createStore();
      const key = uniqueKey("ticket");
      await store.set(key, "single-use", { ttlSeconds: 60 });
      const results = await Promise.all(Array.from({ length: 50 }, () => store.take(key)));
      expect(results.filter((value) => value !== null)).toEqual(["single-use"]);
    });

    it("lets exactly one of 50 concurrent setIfAbsent calls set, and keeps its value", async () => {
      const store = await createStore();
      const key = uniqueKey("lock");
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, (_, index) => store.setIfAbsent(key, `writer ${index}`, { ttlSeconds: 60 })),
      );
      const winners = outcomes.flatMap((outcome, index) => (outcome === "set" ? [index] : []));
      expect(winners).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === "exists")).toHaveLength(49);
      expect(await store.get(key)).toBe(`writer ${winners[0]}`);
    });

    harness.additionalTests?.();
  });
}
