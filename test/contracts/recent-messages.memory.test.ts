import { expect, it } from "vitest";
import { createMemoryRecentMessages } from "../../src/infra/recent-messages/memory.ts";
import { roomMessages, testRecentMessages } from "./recent-messages.contract.ts";

testRecentMessages("memory", {
  createCache: async (options, clock) => createMemoryRecentMessages({ clock, ...options }),
  time: "injected",
  additionalTests() {
    it("stays within its total budget by dropping the rooms written to longest ago", async () => {
      const cache = createMemoryRecentMessages({ clock: { now: () => new Date() }, perRoom: 10, maxMessages: 25 });
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
