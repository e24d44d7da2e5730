import type { BucketRule } from "../../config.ts";

export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

/** What an operator counts about a limiter (the metrics read it; nothing else depends on it). */
export interface RateLimiterStats {
  /** "shared": decided in Redis for every instance. "local": in this process's memory (no Redis, or Redis down). */
  mode: "shared" | "local";
  /** Times the limiter fell back from its shared store to local buckets because the store failed. */
  fallbacks: number;
  /** Buckets held in this process's memory. */
  localBuckets: number;
  /** Buckets forgotten before they had refilled, because the in-memory cap was reached (their debt forgiven). */
  evictedBeforeRefill: number;
}

/**
 * Token buckets keyed by caller. The Redis implementation rejects when Redis fails; the composition root wraps it
 * in the in-memory fallback (fallback.ts), so limits never simply vanish.
 */
export interface RateLimiter {
  consume(key: string, rule: BucketRule, cost?: number): Promise<RateDecision>;
  /**
   * Gives back `cost` tokens an earlier `consume` took, never beyond capacity: for a charge that turned out not to
   * count (a login charged as a possible failure that succeeded). A bucket that no longer exists is full already.
   */
  refund(key: string, rule: BucketRule, cost?: number): Promise<void>;
  stats(): RateLimiterStats;
  close(): Promise<void>;
}
