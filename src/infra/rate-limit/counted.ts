import type { Metrics } from "../../lib/metrics.ts";
import type { RateLimiter } from "./rate-limit.ts";

/**
 * Any limiter, with its refusals counted by bucket: the part of the key before the first ":" (`send`, `auth-ip`,
 * `calls-user`, …), never the key itself (a user id or address would make one series per caller).
 */
export function countRefusals(limiter: RateLimiter, metrics: Metrics): RateLimiter {
  return {
    ...limiter,
    consume: async (key, rule, cost) => {
      const decision = await limiter.consume(key, rule, cost);
      if (!decision.allowed) metrics.rateLimitRefusals.inc({ bucket: key.slice(0, Math.max(0, key.indexOf(":"))) || "other" });
      return decision;
    },
  };
}
