import type { Clock } from "../../lib/clock.ts";
import type { KeyValueStore } from "./kv.ts";

/** Process-local KV for tests and DATABASE_URL=memory. Expired keys are dropped lazily on access. */
export function createMemoryKeyValueStore(options: { clock: Clock }): KeyValueStore {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const live = (key: string): string | null => {
    const entry = entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= options.clock.now().getTime()) {
      entries.delete(key);
      return null;
    }
    return entry.value;
  };
  const expiry = (ttlSeconds: number): number => options.clock.now().getTime() + ttlSeconds * 1000;
  return {
    get: async (key) => live(key),
    set: async (key, value, { ttlSeconds }) => {
      entries.set(key, { value, expiresAt: expiry(ttlSeconds) });
    },
    setIfAbsent: async (key, value, { ttlSeconds }) => {
      if (live(key) !== null) return "exists";
      entries.set(key, { value, expiresAt: expiry(ttlSeconds) });
      return "set";
    },
    take: async (key) => {
      const value = live(key);
      entries.delete(key);
      return value;
    },
    delete: async (key) => {
      entries.delete(key);
    },
    close: async () => {
      entries.clear();
    },
  };
}
