import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { BucketRule } from "../../config.ts";
import type { Logger } from "../../lib/logger.ts";
import type { RateDecision, RateLimiter } from "./rate-limit.ts";

/**
 * The memory limiter's token bucket, as one Lua script so read-refill-write is atomic across instances.
 * Redis TIME is the clock, so instances with skewed clocks still agree. A bucket idle for a whole period is
 * full again, which is what a missing key means, so the key expires after one period.
 * Returns { allowed (0|1), remaining tokens (floored), ms until `cost` tokens are there }.
 */
const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local period_ms = tonumber(ARGV[2]) * 1000
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local rate = capacity / period_ms
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
local wait_ms = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait_ms = math.ceil((cost - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(period_ms))
return { allowed, math.floor(tokens), wait_ms }
`;
const TOKEN_BUCKET_SHA = createHash("sha1").update(TOKEN_BUCKET_LUA).digest("hex");

/** How often, at most, the "rate limiting is disabled" warning repeats while Redis stays unreachable. */
const WARN_EVERY_MS = 10_000;

/**
 * Token buckets in Redis under `${prefix}rl:`, shared by every instance. The client is shared and owned by the
 * caller. When Redis is unreachable or errors, it FAILS OPEN (allows, warns at most every 10 s): an outage of
 * the limiter's store must not take logins and messages down with it.
 */
export function createRedisRateLimiter(options: { client: Redis; prefix: string; logger: Logger }): RateLimiter {
  const { client } = options;
  const logger = options.logger.child({ component: "redis-rate-limiter" });
  let failingSince: number | null = null;
  let lastWarnAt = 0;

  async function runBucket(key: string, rule: BucketRule, cost: number): Promise<unknown> {
    const args = [1, `${options.prefix}rl:${key}`, rule.capacity, rule.periodSeconds, cost] as const;
    try {
      return await client.evalsha(TOKEN_BUCKET_SHA, ...args);
    } catch (error) {
      // Scripts live in the server's cache only: load it again after a restart (or on first use).
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return client.eval(TOKEN_BUCKET_LUA, ...args);
    }
  }

  return {
    consume: async (key: string, rule: BucketRule, cost = 1): Promise<RateDecision> => {
      let decision: RateDecision;
      try {
        decision = toDecision(await runBucket(key, rule, cost));
      } catch (error) {
        const now = Date.now();
        failingSince ??= now;
        if (now - lastWarnAt >= WARN_EVERY_MS) {
          lastWarnAt = now;
          logger.warn("rate limiting is disabled while Redis is unreachable; allowing requests", { error });
        }
        return { allowed: true, remaining: Math.max(0, Math.floor(rule.capacity - cost)) };
      }
      if (failingSince !== null) {
        logger.info("rate limiting restored: Redis is reachable again", { downForMs: Date.now() - failingSince });
        failingSince = null;
        lastWarnAt = 0;
      }
      return decision;
    },
    close: async () => {},
  };
}

function toDecision(reply: unknown): RateDecision {
  const parts = Array.isArray(reply) ? reply.filter((part): part is number => typeof part === "number") : [];
  const [allowed, remaining, waitMs] = parts;
  if (parts.length !== 3 || allowed === undefined || remaining === undefined || waitMs === undefined) {
    throw new Error(`unexpected token bucket reply: ${JSON.stringify(reply)}`);
  }
  return allowed === 1
    ? { allowed: true, remaining }
    : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
}
