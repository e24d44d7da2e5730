import type { BucketRule } from "../../config.ts";
import type { Clock } from "../../lib/clock.ts";
import type { RateDecision, RateLimiter } from "./rate-limit.ts";

/** Token buckets in a Map; state is per process (fine for one instance and for tests). */
export function createMemoryRateLimiter(options: { clock: Clock }): RateLimiter {
  const buckets = new Map<string, { tokens: number; updatedAt: number }>();
  return {
    consume: async (key: string, rule: BucketRule, cost = 1): Promise<RateDecision> => {
      const now = options.clock.now().getTime();
      const ratePerMs = rule.capacity / (rule.periodSeconds * 1000);
      const bucket = buckets.get(key) ?? { tokens: rule.capacity, updatedAt: now };
      const tokens = Math.min(rule.capacity, bucket.tokens + (now - bucket.updatedAt) * ratePerMs);
      if (tokens < cost) {
        buckets.set(key, { tokens, updatedAt: now });
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((cost - tokens) / ratePerMs / 1000)) };
      }
      buckets.set(key, { tokens: tokens - cost, updatedAt: now });
      return { allowed: true, remaining: Math.floor(tokens - cost) };
    },
    close: async () => {
      buckets.clear();
    },
  };
}
