import { afterEach, describe, expect, it, vi } from "vitest";
import type { EventBus, Unsubscribe } from "../../src/infra/bus/bus.ts";

export interface EventBusHarness {
  /** A new bus instance (for a broker-backed bus: another "server" on the same broker). Closed by the suite. */
  createBus(): Promise<EventBus>;
  /**
   * How many broker subscriptions exist for a topic, seen from outside the bus (e.g. PUBSUB NUMSUB).
   * Absent for implementations without a broker.
   */
  brokerSubscriptions?(topic: string): Promise<number>;
  /** Implementation-specific specifications, run inside the same describe block. */
  additionalTests?(): void;
}

let topicCounter = 0;
/** A topic no other test (or concurrently running file) uses. */
export function uniqueTopic(label = "topic"): string {
  topicCounter += 1;
  return `${label}:${topicCounter}:${Math.random().toString(36).slice(2, 8)}`;
}

/** Subscribes a listener that records what it receives. */
export async function record(bus: EventBus, topic: string): Promise<{ received: string[]; unsubscribe: Unsubscribe }> {
  const received: string[] = [];
  const unsubscribe = await bus.subscribe(topic, (message) => received.push(message));
  return { received, unsubscribe };
}

/** The EventBus port's specification, run against one implementation (the unstorage `testDriver` pattern). */
export function testEventBus(name: string, harness: EventBusHarness): void {
  describe(`EventBus contract: ${name}`, () => {
    const open: EventBus[] = [];
    const createBus = async (): Promise<EventBus> => {
      const bus = await harness.createBus();
      open.push(bus);
      return bus;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((bus) => bus.close()));
    });
    const expectBrokerSubscriptions = async (topic: string, count: number): Promise<void> => {
      if (!harness.brokerSubscriptions) return;
      await vi.waitFor(async () => expect(await harness.brokerSubscriptions?.(topic)).toBe(count));
    };

    it("delivers a message only to subscribers of its topic", async () => {
      const bus = await createBus();
      const [rooms, users] = [uniqueTopic("room"), uniqueTopic("user")];
      const room = await record(bus, rooms);
      const user = await record(bus, users);
      await bus.publish(rooms, "hello room");
      await bus.publish(users, "hello user");
      await vi.waitFor(() => expect(room.received.length + user.received.length).toBe(2));
      expect(room.received).toEqual(["hello room"]);
      expect(user.received).toEqual(["hello user"]);
    });

    it("keeps the publish order within a topic, even for many pipelined messages", async () => {
      const bus = await createBus();
      const topic = uniqueTopic();
      const listener = await record(bus, topic);
      const sent = Array.from({ length: 500 }, (_, index) => `message ${index}`);
      await Promise.all(sent.map((message) => bus.publish(topic, message)));
      await vi.waitFor(() => expect(listener.received).toHaveLength(sent.length));
      expect(listener.received).toEqual(sent);
    });

    it("holds one subscription per topic however many local listeners it has, until the last one leaves", async () => {
      const bus = await createBus();
      const topic = uniqueTopic();
      const first = await record(bus, topic);
      const second = await record(bus, topic);
      expect(bus.subscribedTopics().filter((t) => t === topic)).toEqual([topic]);
      await expectBrokerSubscriptions(topic, 1);

      await bus.publish(topic, "to both");
      await vi.waitFor(() => expect([first.received, second.received]).toEqual([["to both"], ["to both"]]));

      first.unsubscribe();
      await bus.publish(topic, "to the second");
      await vi.waitFor(() => expect(second.received).toEqual(["to both", "to the second"]));
      expect(bus.subscribedTopics()).toContain(topic);
      await expectBrokerSubscriptions(topic, 1);

      second.unsubscribe();
      await vi.waitFor(() => expect(bus.subscribedTopics()).not.toContain(topic));
      await expectBrokerSubscriptions(topic, 0);
      expect(first.received).toEqual(["to both"]);
    });

    it("stops delivering to a listener once it unsubscribed", async () => {
      const bus = await createBus();
      const topic = uniqueTopic();
      const gone = await record(bus, topic);
      await bus.publish(topic, "before");
      await vi.waitFor(() => expect(gone.received).toEqual(["before"]));
      gone.unsubscribe();
      gone.unsubscribe(); // idempotent: must not release someone else's reference

      const witness = await record(bus, topic);
      await bus.publish(topic, "after");
      await vi.waitFor(() => expect(witness.received).toEqual(["after"]));
      expect(gone.received).toEqual(["before"]);
      await expectBrokerSubscriptions(topic, 1);
    });

    it("accepts a publish to a topic nobody listens to", async () => {
      const bus = await createBus();
      await expect(bus.publish(uniqueTopic("empty"), "into the void")).resolves.toBeUndefined();
    });

    it("keeps delivering to other listeners when one listener throws", async () => {
      const bus = await createBus();
      const topic = uniqueTopic();
      await bus.subscribe(topic, () => {
        throw new Error("a faulty listener");
      });
      const healthy = await record(bus, topic);
      await bus.publish(topic, "one");
      await bus.publish(topic, "two");
      await vi.waitFor(() => expect(healthy.received).toEqual(["one", "two"]));
    });

    it("shares one subscription between concurrent subscribes of the same topic", async () => {
      const bus = await createBus();
      const topic = uniqueTopic();
      const listeners = await Promise.all(Array.from({ length: 10 }, () => record(bus, topic)));
      expect(bus.subscribedTopics().filter((t) => t === topic)).toHaveLength(1);
      await expectBrokerSubscriptions(topic, 1);
      await bus.publish(topic, "fan-out");
      await vi.waitFor(() => expect(listeners.every((l) => l.received.length === 1)).toBe(true));
    });

    it("ends with exactly the subscription still wanted when unsubscribe and subscribe race", async () => {
      const bus = await createBus();
      const [kept, dropped] = [uniqueTopic("kept"), uniqueTopic("dropped")];
      const leaving = await record(bus, kept);
      leaving.unsubscribe(); // its UNSUBSCRIBE is in flight while the next SUBSCRIBE is asked for
      const arriving = await record(bus, kept);
      (await record(bus, dropped)).unsubscribe();
      const late = record(bus, dropped); // subscribe again before the UNSUBSCRIBE settled…
      (await late).unsubscribe(); // …and leave again at once

      await vi.waitFor(() => expect(bus.subscribedTopics()).not.toContain(dropped));
      expect(bus.subscribedTopics()).toContain(kept);
      await expectBrokerSubscriptions(kept, 1);
      await expectBrokerSubscriptions(dropped, 0);
      await bus.publish(kept, "still here");
      await vi.waitFor(() => expect(arriving.received).toEqual(["still here"]));
      expect(leaving.received).toEqual([]);
    });

    harness.additionalTests?.();
  });
}
