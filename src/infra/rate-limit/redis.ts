import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { BucketRule } from "../../config.ts";
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

/**
 * Gives `cost` tokens back to an existing bucket (refilled first, capped at capacity). A missing key is a full
 * bucket already, so nothing is written for it. Returns 1 when a bucket was changed, else 0.
 */
const REFUND_LUA = `
local capacity = tonumber(ARGV[1])
local period_ms = tonumber(ARGV[2]) * 1000
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
if not state[1] then return 0 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local at = tonumber(state[2]) or now
local tokens = math.min(capacity, tonumber(state[1]) + math.max(0, now - at) * capacity / period_ms + cost)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(period_ms))
return 1
`;
const REFUND_SHA = createHash("sha1").update(REFUND_LUA).digest("hex");

/**
 * Token buckets in Redis under `${prefix}rl:`, shared by every instance. The client is shared and owned by the
 * caller. Every call rejects when Redis is unreachable or errors: the composition root wraps this limiter in the
 * in-memory fallback (fallback.ts), which decides what happens then.
 */
export function createRedisRateLimiter(options: { client: Redis; prefix: string }): RateLimiter {
  const { client } = options;

  async function run(script: { lua: string; sha: string }, key: string, rule: BucketRule, cost: number): Promise<unknown> {
    const args = [1, `${options.prefix}rl:${key}`, rule.capacity, rule.periodSeconds, cost] as const;
    try {
      return await client.evalsha(script.sha, ...args);
    } catch (error) {
      // Scripts live in the server's cache only: load it again after a restart (or on first use).
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return client.eval(script.lua, ...args);
    }
  }

  return {
    consume: async (key, rule, cost = 1) => toDecision(await run({ lua: TOKEN_BUCKET_LUA, sha: TOKEN_BUCKET_SHA }, key, rule, cost)),
    refund: async (key, rule, cost = 1) => {
      await run({ lua: REFUND_LUA, sha: REFUND_SHA }, key, rule, cost);
    },
    stats: () => ({ mode: "shared", fallbacks: 0, localBuckets: 0, evictedBeforeRefill: 0 }),
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
