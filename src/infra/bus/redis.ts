import type { Redis } from "ioredis";
import type { Logger } from "../../lib/logger.ts";
import { closeRedis, connectRedis } from "../redis/connect.ts";
import type { BusStatus, EventBus, Unsubscribe } from "./bus.ts";

type Listener = (message: string) => void;

interface TopicState {
  readonly listeners: Set<Listener>;
  /** True while the current subscriber connection holds a SUBSCRIBE for this topic's channel. */
  subscribed: boolean;
  /** The one in-flight run that brings `subscribed` in line with `listeners.size > 0`; null when settled. */
  syncing: Promise<void> | null;
}

/**
 * Redis pub/sub, one channel per topic (`${prefix}rt:${topic}`), on a publisher and a subscriber connection.
 * Local listeners are refcounted: one SUBSCRIBE per topic while it has listeners, UNSUBSCRIBE after the last.
 * The topic map is the truth for what should be subscribed; after a reconnect it is replayed onto the new
 * connection (ioredis's autoResubscribe is off, so a topic dropped while the link was down is not revived).
 */
export async function createRedisBus(options: {
  url: string;
  prefix: string;
  logger: Logger;
  /** Names the connections (`CLIENT LIST`), so an operator can see which instance holds which subscriptions. */
  instanceId?: string;
}): Promise<EventBus> {
  const logger = options.logger.child({ component: "redis-bus" });
  const channelPrefix = `${options.prefix}rt:`;
  const publisher = await connectRedis({ url: options.url, logger, name: connectionName("parley-bus-pub", options.instanceId) });
  let subscriber: Redis;
  try {
    subscriber = await connectRedis({ url: options.url, logger, name: connectionName("parley-bus-sub", options.instanceId), autoResubscribe: false });
  } catch (error) {
    await closeRedis(publisher);
    throw error;
  }

  const topics = new Map<string, TopicState>();
  const statusListeners = new Set<(status: BusStatus) => void>();
  let status: BusStatus = "up";
  let connection = 0; // bumped on every drop, so a restore that straddles another drop never reports "up"
  let closing = false;

  /** Every caller shares the one in-flight run, which loops until no listener came or went during its await. */
  function sync(topic: string, state: TopicState): Promise<void> {
    if (state.syncing) return state.syncing;
    if ((state.listeners.size > 0) === state.subscribed) {
      settle(topic, state);
      return Promise.resolve();
    }
    state.syncing = converge(topic, state);
    return state.syncing;
  }

  async function converge(topic: string, state: TopicState): Promise<void> {
    for (;;) {
      const wanted = state.listeners.size > 0;
      // Cleared in the same synchronous step as the final check: a listener added after it starts a new run.
      if (wanted === state.subscribed) return settle(topic, state);
      try {
        if (wanted) await subscriber.subscribe(channelPrefix + topic);
        else await subscriber.unsubscribe(channelPrefix + topic);
      } catch (error) {
        settle(topic, state);
        throw error;
      }
      state.subscribed = wanted;
    }
  }

  function settle(topic: string, state: TopicState): void {
    state.syncing = null;
    if (state.listeners.size === 0 && !state.subscribed && topics.get(topic) === state) topics.delete(topic);
  }

  function setStatus(next: BusStatus): void {
    if (status === next) return;
    status = next;
    for (const listener of statusListeners) {
      try {
        listener(next);
      } catch (error) {
        logger.error("bus status listener threw", { status: next, error });
      }
    }
  }

  async function restoreSubscriptions(): Promise<void> {
    const restoring = connection;
    // A run started before the drop may fail late; one more pass picks its topics up on this connection.
    for (let pass = 0; pass < 2 && restoring === connection && !closing; pass++) {
      const results = await Promise.allSettled([...topics].map(([topic, state]) => sync(topic, state)));
      if (restoring !== connection || closing) return;
      if (results.every((result) => result.status === "fulfilled")) {
        logger.info("redis bus subscriptions restored", { topics: topics.size });
        setStatus("up");
        return;
      }
    }
    if (restoring !== connection || closing) return;
    logger.error("redis bus could not restore its subscriptions; reconnecting the subscriber");
    subscriber.disconnect(true);
  }

  subscriber.on("close", () => {
    if (closing) return;
    connection += 1;
    for (const state of topics.values()) state.subscribed = false; // a new connection starts with none
    setStatus("down");
  });
  subscriber.on("ready", () => {
    if (!closing) void restoreSubscriptions();
  });
  subscriber.on("message", (channel: string, message: string) => {
    const topic = channel.slice(channelPrefix.length);
    const state = channel.startsWith(channelPrefix) ? topics.get(topic) : undefined;
    if (!state) return;
    for (const listener of state.listeners) {
      try {
        listener(message);
      } catch (error) {
        // One faulty listener must not cost the others their message.
        logger.error("bus listener threw", { topic, error });
      }
    }
  });

  return {
    publish: async (topic, message) => {
      await publisher.publish(channelPrefix + topic, message);
    },
    subscribe: async (topic, onMessage): Promise<Unsubscribe> => {
      if (closing) throw new Error("the bus is closed");
      let state = topics.get(topic);
      if (!state) topics.set(topic, (state = { listeners: new Set(), subscribed: false, syncing: null }));
      const topicState = state;
      // A wrapper per call, so subscribing the same function twice needs two unsubscribes.
      const listener: Listener = (message) => onMessage(message);
      const unsubscribe = (): void => {
        if (!topicState.listeners.delete(listener)) return;
        sync(topic, topicState).catch((error: unknown) => {
          logger.warn("redis bus unsubscribe failed", { topic, error });
        });
      };
      topicState.listeners.add(listener);
      try {
        await sync(topic, topicState);
      } catch (error) {
        unsubscribe();
        throw error;
      }
      return unsubscribe;
    },
    subscribedTopics: () => [...topics].filter(([, state]) => state.subscribed).map(([topic]) => topic),
    onStatus: (listener): Unsubscribe => {
      statusListeners.add(listener);
      return () => void statusListeners.delete(listener);
    },
    close: async () => {
      closing = true;
      topics.clear();
      statusListeners.clear();
      await Promise.all([closeRedis(publisher), closeRedis(subscriber)]);
    },
  };
}

function connectionName(role: string, instanceId: string | undefined): string {
  return instanceId ? `${role}:${instanceId.replace(/[^A-Za-z0-9_.-]/g, "_")}` : role;
}
