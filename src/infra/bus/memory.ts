import type { Logger } from "../../lib/logger.ts";
import type { BusStatus, EventBus, Unsubscribe } from "./bus.ts";

/** One process, no broker: messages go straight to this process's listeners (asynchronously, like a broker). */
export function createMemoryBus(options: { logger?: Logger } = {}): EventBus {
  const listeners = new Map<string, Set<(message: string) => void>>();
  return {
    publish: async (topic, message) => {
      const set = listeners.get(topic);
      if (!set) return;
      // Deliver on a microtask so publishers never run listener code inside their own call stack.
      queueMicrotask(() => {
        for (const listener of set) {
          try {
            listener(message);
          } catch (error) {
            // One faulty listener must neither starve the others nor escape as an uncaught exception.
            options.logger?.error("bus listener threw", { topic, error });
          }
        }
      });
    },
    subscribe: async (topic, onMessage): Promise<Unsubscribe> => {
      let set = listeners.get(topic);
      if (!set) listeners.set(topic, (set = new Set()));
      // A wrapper per call, so subscribing the same function twice needs two unsubscribes.
      const entry = (message: string): void => onMessage(message);
      set.add(entry);
      return () => {
        set.delete(entry);
        if (set.size === 0 && listeners.get(topic) === set) listeners.delete(topic);
      };
    },
    subscribedTopics: () => [...listeners.keys()],
    onStatus: (_listener: (status: BusStatus) => void): Unsubscribe => () => {},
    close: async () => {
      listeners.clear();
    },
  };
}
