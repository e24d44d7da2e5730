import { afterEach, describe, expect, it } from "vitest";
import type { EventFrame, RecentEvents } from "../../src/infra/recent-events/recent-events.ts";
import type { Clock } from "../../src/lib/clock.ts";

export interface RecentEventsHarness {
  /** A cache for one test; the suite closes it. Implementations that take a clock get this one. */
  createCache(options: { perRoom: number; idleSeconds: number }, clock: Clock): Promise<RecentEvents>;
  /** "injected": the cache reads `clock`; "real": it keeps its own time (Redis expires keys), so the suite waits. */
  time: "injected" | "real";
  /** Implementation-specific specifications, run inside the same describe block. */
  additionalTests?(): void;
}

const sender = { id: crypto.randomUUID(), username: "ada", displayName: "Ada 🦊" };

/** Events seq `from`…`through` of a room, as frames shaped exactly like the ones a commit publishes. */
export function roomMessages(roomId: string, from: number, through: number): EventFrame[] {
  return Array.from({ length: through - from + 1 }, (_, i) => {
    const seq = from + i;
    const message = { id: crypto.randomUUID(), roomId, seq, sender, body: `message ${seq}: héllo\n"quoted"`, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString() };
    return { roomId, seq, frame: JSON.stringify({ type: "message.created", roomId, seq, message }) };
  });
}

/** The RecentEvents port's specification, run against one implementation. */
export function testRecentEvents(name: string, harness: RecentEventsHarness): void {
  describe(`RecentEvents contract: ${name}`, () => {
    let now = Date.now();
    const clock: Clock = { now: () => new Date(now) };
    const open: RecentEvents[] = [];
    const createCache = async (options: { perRoom?: number; idleSeconds?: number } = {}): Promise<RecentEvents> => {
      const cache = await harness.createCache({ perRoom: options.perRoom ?? 100, idleSeconds: options.idleSeconds ?? 60 }, clock);
      open.push(cache);
      return cache;
    };
    const passTime = async (ms: number): Promise<void> => {
      if (harness.time === "injected") now += ms;
      else await new Promise((resolve) => setTimeout(resolve, ms));
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((cache) => cache.close()));
    });

    it("answers a covered range with exactly the frames appended, ascending and byte for byte", async () => {
      const cache = await createCache();
      const roomId = crypto.randomUUID();
      const messages = roomMessages(roomId, 1, 10);
      await cache.append(messages);
      expect(await cache.range(roomId, 0, 10)).toEqual(messages);
      expect(await cache.range(roomId, 3, 6)).toEqual(messages.slice(3, 6));
      expect(await cache.range(roomId, 9, 10)).toEqual([messages[9]]);
    });

    it("answers an empty range with no messages, and a room it never saw with a miss", async () => {
      const cache = await createCache();
      const roomId = crypto.randomUUID();
      await cache.append(roomMessages(roomId, 1, 3));
      expect(await cache.range(roomId, 3, 3)).toEqual([]);
      expect(await cache.range(crypto.randomUUID(), 0, 1)).toBeNull();
    });

    it("misses, rather than answering in part, when the range runs past the newest message it holds", async () => {
      const cache = await createCache();
      const roomId = crypto.randomUUID();
      await cache.append(roomMessages(roomId, 1, 5));
      expect(await cache.range(roomId, 2, 6)).toBeNull();
      expect(await cache.range(roomId, 5, 6)).toBeNull();
    });

    it("misses when a message inside the range was never appended, and answers the stretch after it", async () => {
      const cache = await createCache();
      const roomId = crypto.randomUUID();
      const messages = roomMessages(roomId, 1, 8);
      await cache.append(messages.filter((message) => message.seq !== 4)); // e.g. an append that failed
      expect(await cache.range(roomId, 0, 8)).toBeNull();
      expect(await cache.range(roomId, 3, 5)).toBeNull();
      expect(await cache.range(roomId, 0, 3)).toEqual(messages.slice(0, 3));
      expect(await cache.range(roomId, 4, 8)).toEqual(messages.slice(4));
    });

    it("fills a hole when the missing message arrives late, and holds a message appended twice once", async () => {
      const cache = await createCache();
      const roomId = crypto.randomUUID();
      const messages = roomMessages(roomId, 1, 6);
      await cache.append([...messages.slice(0, 2), ...messages.slice(3)]);
      await cache.append([messages[2]!, messages[5]!]); // instances append out of order; a retry appends again
      expect(await cache.range(roomId, 0, 6)).toEqual(messages);
    });

    it("keeps only each room's newest messages: older ranges miss, rooms do not crowd each other out", async () => {
      const cache = await createCache({ perRoom: 10 });
      const [busy, quiet] = [crypto.randomUUID(), crypto.randomUUID()];
      const quietMessages = roomMessages(quiet, 1, 3);
      await cache.append(quietMessages);
      const busyMessages = roomMessages(busy, 1, 25);
      for (let i = 0; i < 25; i += 5) await cache.append(busyMessages.slice(i, i + 5));
      expect(await cache.range(busy, 15, 25)).toEqual(busyMessages.slice(15));
      expect(await cache.range(busy, 14, 25)).toBeNull();
      expect(await cache.range(busy, 0, 5)).toBeNull();
      expect(await cache.range(quiet, 0, 3)).toEqual(quietMessages);
    });

    it("appends one batch spanning several rooms", async () => {
      const cache = await createCache();
      const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
      const [inA, inB] = [roomMessages(a, 1, 4), roomMessages(b, 1, 2)];
      await cache.append([inA[0]!, inB[0]!, inA[1]!, inA[2]!, inB[1]!, inA[3]!]);
      expect(await cache.range(a, 0, 4)).toEqual(inA);
      expect(await cache.range(b, 0, 2)).toEqual(inB);
    });

    it("forgets a room nobody wrote to for its idle time, but not one still written to", async () => {
      const cache = await createCache({ idleSeconds: 1 });
      const [idle, active] = [crypto.randomUUID(), crypto.randomUUID()];
      const activeMessages = roomMessages(active, 1, 2);
      await cache.append(roomMessages(idle, 1, 2));
      await cache.append(activeMessages.slice(0, 1));
      await passTime(600);
      await cache.append(activeMessages.slice(1));
      await passTime(600);
      expect(await cache.range(idle, 0, 2)).toBeNull();
      expect(await cache.range(active, 0, 2)).toEqual(activeMessages);
    });

    it("forgets a room's events on request (a deleted message's frames must not be served), and refills from new ones", async () => {
      const cache = await createCache();
      const [room, other] = [crypto.randomUUID(), crypto.randomUUID()];
      const events = roomMessages(room, 1, 6);
      await cache.append(events.slice(0, 4));
      await cache.append(roomMessages(other, 1, 2));
      await cache.forget(room);
      expect(await cache.range(room, 0, 4)).toBeNull();
      expect(await cache.range(other, 0, 2)).toHaveLength(2);
      await cache.append(events.slice(4));
      expect(await cache.range(room, 4, 6)).toEqual(events.slice(4));
    });

    harness.additionalTests?.();
  });
}
