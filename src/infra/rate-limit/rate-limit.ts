import type { BucketRule } from "../../config.ts";

export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

/** Token buckets keyed by caller. Implementations fail open (and log) when their store is unreachable. */
export interface RateLimiter {
  consume(key: string, rule: BucketRule, cost?: number): Promise<RateDecision>;
  close(): Promise<void>;
}
