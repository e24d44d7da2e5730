import type { BucketRule } from "../../config.ts";
import type { Clock } from "../../lib/clock.ts";
import type { RateDecision, RateLimiter } from "./rate-limit.ts";

/** Buckets kept at most, unless configured otherwise: about 24 MB of heap (~240 bytes a bucket). */
export const DEFAULT_MAX_BUCKETS = 100_000;
/** How often full buckets are swept out: lazily on a call once this has passed, and by an idle timer. */
const SWEEP_EVERY_MS = 10_000;
const IDLE_SWEEP_EVERY_MS = 60_000;
/** Past the cap, forget down to this share of it, so the O(n) sweep before it runs once per tenth of the cap. */
const REFILL_AFTER_EVICTION = 0.9;

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** When the bucket is full again if nobody touches it: from then on it is the same as no bucket. */
  fullAt: number;
}

/**
 * Token buckets in a Map; state is per process (one instance, tests, and the fallback while Redis is down).
 * Memory stays bounded whatever the keys (login strings and addresses are the caller's choice): a bucket that has
 * refilled to capacity is dropped, and past `maxBuckets` the least recently used are forgotten (which forgives
 * their debt, so it is counted in `stats().evictedBeforeRefill`).
 */
export function createMemoryRateLimiter(options: { clock: Clock; maxBuckets?: number }): RateLimiter {
  const { clock } = options;
  const maxBuckets = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
  // Every change re-inserts its key, so the Map's order is least recently used first.
  const buckets = new Map<string, Bucket>();
  let lastSweepAt = clock.now().getTime();
  let evictedBeforeRefill = 0;

  const sweep = (now: number): void => {
    lastSweepAt = now;
    for (const [key, bucket] of buckets) if (bucket.fullAt <= now) buckets.delete(key);
  };
  const makeRoom = (now: number): void => {
    sweep(now);
    const keep = Math.floor(maxBuckets * REFILL_AFTER_EVICTION);
    for (const key of buckets.keys()) {
      if (buckets.size <= keep) break;
      buckets.delete(key);
      evictedBeforeRefill += 1;
    }
  };
  const level = (key: string, rule: BucketRule, now: number): number => {
    const bucket = buckets.get(key);
    if (!bucket) return rule.capacity;
    return Math.min(rule.capacity, bucket.tokens + (now - bucket.updatedAt) * ratePerMs(rule));
  };
  const store = (key: string, rule: BucketRule, tokens: number, now: number): void => {
    buckets.delete(key);
    if (tokens >= rule.capacity) return; // a full bucket is no bucket
    buckets.set(key, { tokens, updatedAt: now, fullAt: now + (rule.capacity - tokens) / ratePerMs(rule) });
    if (buckets.size > maxBuckets) makeRoom(now);
  };

  const idleSweep = setInterval(() => sweep(clock.now().getTime()), IDLE_SWEEP_EVERY_MS);
  idleSweep.unref?.(); // housekeeping must not keep the process (or a test run) alive

  return {
    consume: async (key, rule, cost = 1): Promise<RateDecision> => {
      const now = clock.now().getTime();
      if (now - lastSweepAt >= SWEEP_EVERY_MS) sweep(now);
      const tokens = level(key, rule, now);
      if (tokens < cost) {
        store(key, rule, tokens, now);
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((cost - tokens) / ratePerMs(rule) / 1000)) };
      }
      store(key, rule, tokens - cost, now);
      return { allowed: true, remaining: Math.floor(tokens - cost) };
    },
    refund: async (key, rule, cost = 1): Promise<void> => {
      const now = clock.now().getTime();
      if (buckets.has(key)) store(key, rule, Math.min(rule.capacity, level(key, rule, now) + cost), now);
    },
    stats: () => ({ mode: "local", fallbacks: 0, localBuckets: buckets.size, evictedBeforeRefill }),
    close: async () => {
      clearInterval(idleSweep);
      buckets.clear();
    },
  };
}

function ratePerMs(rule: BucketRule): number {
  return rule.capacity / (rule.periodSeconds * 1000);
}
