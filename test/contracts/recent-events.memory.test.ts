import { expect, it } from "vitest";
import { createMemoryRecentEvents } from "../../src/infra/recent-events/memory.ts";
import { roomMessages, testRecentEvents } from "./recent-events.contract.ts";

testRecentEvents("memory", {
  createCache: async (options, clock) => createMemoryRecentEvents({ clock, ...options }),
  time: "injected",
  additionalTests() {
    it("stays within its total budget by dropping the rooms written to longest ago", async () => {
      const cache = createMemoryRecentEvents({ clock: { now: () => new Date() }, perRoom: 10, maxEvents: 25 });
      const rooms = Array.from({ length: 4 }, () => crypto.randomUUID());
      const written = rooms.map((roomId) => roomMessages(roomId, 1, 10));
      for (const messages of written) await cache.append(messages);
      expect(await cache.range(rooms[0]!, 0, 10)).toBeNull();
      expect(await cache.range(rooms[1]!, 0, 10)).toBeNull();
      expect(await cache.range(rooms[2]!, 0, 10)).toEqual(written[2]);
      expect(await cache.range(rooms[3]!, 0, 10)).toEqual(written[3]);
    });
  },
});
