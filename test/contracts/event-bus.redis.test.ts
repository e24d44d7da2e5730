import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { BusStatus, EventBus } from "../../src/infra/bus/bus.ts";
import { createRedisBus } from "../../src/infra/bus/redis.ts";
import { connectRedis } from "../../src/infra/redis/connect.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { testRedisUrl, uniqueRedisPrefix } from "../support/redis.ts";
import { startThrowawayRedis, type ThrowawayRedis } from "../support/throwaway-redis.ts";
import { record, testEventBus, uniqueTopic } from "./event-bus.contract.ts";

const url = testRedisUrl();
const logger = createLogger({ level: "silent" });

describe.skipIf(!url)("Redis event bus", () => {
  if (!url) return;
  const prefix = uniqueRedisPrefix();
  let inspector: Redis; // a separate connection that sees the broker's side of things
  beforeAll(async () => {
    inspector = await connectRedis({ url, logger, name: "test-inspector" });
  });
  afterAll(async () => {
    await inspector.quit();
  });
  const channel = (topic: string): string => `${prefix}rt:${topic}`;
  const numsub = async (topic: string): Promise<number> => subscriberCounts(await inspector.pubsub("NUMSUB", channel(topic)))[0] ?? -1;

  testEventBus("redis", {
    createBus: () => createRedisBus({ url, prefix, logger }),
    brokerSubscriptions: numsub,
    additionalTests() {
      it("delivers each message to each instance exactly once when two servers share Redis", async () => {
        const [a, b] = [await createRedisBus({ url, prefix, logger }), await createRedisBus({ url, prefix, logger })];
        try {
          const topic = uniqueTopic("room");
          const listeners = [await record(a, topic), await record(a, topic), await record(b, topic)];
          const sent = Array.from({ length: 40 }, (_, index) => `m${index}`);
          await Promise.all(sent.map((message, index) => (index % 2 === 0 ? a : b).publish(topic, message)));
          await vi.waitFor(() => expect(listeners.map((l) => l.received.length)).toEqual([40, 40, 40]));
          await b.publish(topic, "last"); // anything duplicated would have arrived before this
          await vi.waitFor(() => expect(listeners.map((l) => l.received.at(-1))).toEqual(["last", "last", "last"]));
          for (const listener of listeners) expect([...listener.received].sort()).toEqual([...sent, "last"].sort());
          expect(await numsub(topic)).toBe(2); // one per instance, not one per listener
        } finally {
          await Promise.all([a.close(), b.close()]);
        }
      });

      it("holds Redis subscriptions only for topics the instance has listeners for", async () => {
        const [a, b] = [await createRedisBus({ url, prefix, logger }), await createRedisBus({ url, prefix, logger })];
        try {
          const [onA, onB] = [uniqueTopic("a-only"), uniqueTopic("b-only")];
          const listener = await record(a, onA);
          await record(b, onB);
          expect(a.subscribedTopics()).toEqual([onA]);
          expect(b.subscribedTopics()).toEqual([onB]);
          const channels = await inspector.pubsub("CHANNELS", `${prefix}rt:*`);
          expect(channels).toEqual(expect.arrayContaining([channel(onA), channel(onB)]));
          expect([await numsub(onA), await numsub(onB)]).toEqual([1, 1]);

          listener.unsubscribe();
          await vi.waitFor(async () => expect(await numsub(onA)).toBe(0));
          expect(await inspector.pubsub("CHANNELS", channel(onA))).toEqual([]);
          expect(await numsub(onB)).toBe(1);
        } finally {
          await Promise.all([a.close(), b.close()]);
        }
      });
    },
  });

  describe("when Redis goes away", () => {
    let server: ThrowawayRedis;
    let bus: EventBus;
    beforeAll(async () => {
      server = await startThrowawayRedis();
      bus = await createRedisBus({ url: server.url, prefix, logger });
    });
    afterAll(async () => {
      await bus.close();
      await server.stop();
    });

    it("rejects a publish promptly instead of queueing it, reports down, and restores subscriptions before up", async () => {
      const statuses: BusStatus[] = [];
      const topicsWhenUp: string[][] = [];
      bus.onStatus((status) => {
        statuses.push(status);
        if (status === "up") topicsWhenUp.push(bus.subscribedTopics());
      });
      const [kept, left] = [uniqueTopic("kept"), uniqueTopic("left-while-down")];
      const listener = await record(bus, kept);
      const leaving = await record(bus, left);

      await server.stop();
      await vi.waitFor(() => expect(statuses).toEqual(["down"]));
      expect(bus.subscribedTopics()).toEqual([]);
      const startedAt = Date.now();
      await expect(bus.publish(kept, "lost")).rejects.toThrow();
      expect(Date.now() - startedAt).toBeLessThan(500);
      leaving.unsubscribe(); // while down: must not be revived by the reconnect

      server = await startThrowawayRedis({ port: server.port });
      await vi.waitFor(() => expect(statuses).toEqual(["down", "up"]), { timeout: 10_000 });
      expect(topicsWhenUp).toEqual([[kept]]);
      const probe = await connectRedis({ url: server.url, logger, name: "test-probe" });
      try {
        const reply = await probe.pubsub("NUMSUB", channel(kept), channel(left));
        expect(subscriberCounts(reply)).toEqual([1, 0]);
      } finally {
        await probe.quit();
      }
      // "up" speaks for the subscriber link; the publisher reconnects on its own schedule (a failed try delivers nothing).
      await vi.waitFor(() => bus.publish(kept, "after recovery"), { timeout: 10_000 });
      await vi.waitFor(() => expect(listener.received).toEqual(["after recovery"]));
    });
  });
});

/** PUBSUB NUMSUB answers [channel, count, channel, count, …]: the counts, in the order asked. */
function subscriberCounts(reply: unknown[]): number[] {
  return reply.filter((part): part is number => typeof part === "number");
}
