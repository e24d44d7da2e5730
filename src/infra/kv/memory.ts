import type { Clock } from "../../lib/clock.ts";
import type { KeyValueStore } from "./kv.ts";

const SWEEP_EVERY_MS = 30_000;

/**
 * Process-local KV: socket tickets when there is no Redis (one process serves, the embedded database's lock sees to
 * that), and tests. Expired keys are invisible at once and swept every 30 s, so tickets minted and never used
 * cannot pile up.
 */
export function createMemoryKeyValueStore(options: { clock: Clock }): KeyValueStore & { size(): number; sweep(): void } {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const now = (): number => options.clock.now().getTime();
  const live = (key: string): string | null => {
    const entry = entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= now()) {
      entries.delete(key);
      return null;
    }
    return entry.value;
  };
  const expiry = (ttlSeconds: number): number => now() + ttlSeconds * 1000;
  const sweep = (): void => {
    const at = now();
    for (const [key, entry] of entries) if (entry.expiresAt <= at) entries.delete(key);
  };
  const timer = setInterval(sweep, SWEEP_EVERY_MS);
  timer.unref?.(); // housekeeping must not keep the process alive
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
      clearInterval(timer);
      entries.clear();
    },
    size: () => entries.size,
    sweep,
  };
}
