import { expect, it } from "vitest";
import { createMemoryKeyValueStore } from "../../src/infra/kv/memory.ts";
import type { Clock } from "../../src/lib/clock.ts";
import { testKeyValueStore } from "./key-value.contract.ts";

testKeyValueStore("memory", {
  createStore: async (clock) => createMemoryKeyValueStore({ clock }),
  time: "injected",
  additionalTests() {
    it("forgets expired keys nobody asks for again (tickets minted and never used)", async () => {
      let now = Date.now();
      const clock: Clock = { now: () => new Date(now) };
      const store = createMemoryKeyValueStore({ clock });
      for (let i = 0; i < 1000; i++) await store.set(`ticket:${i}`, "claims", { ttlSeconds: 30 });
      await store.set("session", "lives on", { ttlSeconds: 3600 });
      now += 31_000;
      store.sweep();
      expect(store.size()).toBe(1);
      expect(await store.get("session")).toBe("lives on");
      await store.close();
    });
  },
});
