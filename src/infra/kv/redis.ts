import type { Redis } from "ioredis";
import type { KeyValueStore } from "./kv.ts";

/**
 * Keys live under `${prefix}kv:`. The client is shared and owned by the caller: `close()` leaves it open.
 * Every operation is one Redis command, so atomicity is Redis's (GETDEL for take, SET NX for setIfAbsent).
 */
export function createRedisKeyValueStore(options: { client: Redis; prefix: string }): KeyValueStore {
  const { client } = options;
  const keyOf = (key: string): string => `${options.prefix}kv:${key}`;
  return {
    get: (key) => client.get(keyOf(key)),
    set: async (key, value, { ttlSeconds }) => {
      await client.set(keyOf(key), value, "EX", expirySeconds(ttlSeconds));
    },
    setIfAbsent: async (key, value, { ttlSeconds }) => {
      const reply = await client.set(keyOf(key), value, "EX", expirySeconds(ttlSeconds), "NX");
      return reply === "OK" ? "set" : "exists";
    },
    take: (key) => client.getdel(keyOf(key)),
    delete: async (key) => {
      await client.del(keyOf(key));
    },
    close: async () => {},
  };
}

/** EX takes a positive integer: round up, so a key never expires earlier than asked. */
function expirySeconds(ttlSeconds: number): number {
  return Math.max(1, Math.ceil(ttlSeconds));
}
