import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/logger.ts";
import type { RateLimiter } from "./rate-limit.ts";

/** While on local buckets, the shared store is tried again at most this often (by one call; the rest stay local). */
const RETRY_SHARED_EVERY_MS = 1000;

/**
 * Shared buckets (Redis) with this instance's memory as the fallback: when the shared store fails, every decision is
 * made locally until it answers again, so limits still hold per instance instead of vanishing. The switch is logged
 * once each way and counted (`stats().fallbacks`, `onModeChange`); the local buckets start empty, and so do the
 * shared ones after a Redis restart.
 */
export function createFallbackRateLimiter(options: {
  shared: RateLimiter;
  local: RateLimiter;
  clock: Clock;
  logger: Logger;
  /** Told of every switch between "shared" and "local" (for metrics). */
  onModeChange?(mode: "shared" | "local"): void;
}): RateLimiter {
  const { shared, local, clock } = options;
  const logger = options.logger.child({ component: "rate-limiter" });
  let mode: "shared" | "local" = "shared";
  let localSince = 0;
  let lastSharedTry = 0;
  let fallbacks = 0;

  const fallBack = (error: unknown): void => {
    if (mode === "local") return;
    mode = "local";
    fallbacks += 1;
    localSince = lastSharedTry = clock.now().getTime();
    logger.warn("rate limiting falls back to this instance's memory while Redis is unreachable: limits hold per instance", {
      error,
    });
    options.onModeChange?.("local");
  };
  const restore = (): void => {
    if (mode === "shared") return;
    mode = "shared";
    logger.info("rate limiting restored: buckets are shared in Redis again", { localForMs: clock.now().getTime() - localSince });
    options.onModeChange?.("shared");
  };

  async function decide<T>(call: (limiter: RateLimiter) => Promise<T>): Promise<T> {
    if (mode === "local") {
      const now = clock.now().getTime();
      if (now - lastSharedTry < RETRY_SHARED_EVERY_MS) return call(local);
      lastSharedTry = now;
    }
    let result: T;
    try {
      result = await call(shared);
    } catch (error) {
      fallBack(error);
      return call(local);
    }
    restore();
    return result;
  }

  return {
    consume: (key, rule, cost) => decide((limiter) => limiter.consume(key, rule, cost)),
    refund: (key, rule, cost) => decide((limiter) => limiter.refund(key, rule, cost)),
    stats: () => ({ ...local.stats(), mode, fallbacks }),
    close: async () => {
      await shared.close();
      await local.close();
    },
  };
}
