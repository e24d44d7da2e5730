import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createFallbackRateLimiter } from "../../src/infra/rate-limit/fallback.ts";
import { createMemoryRateLimiter } from "../../src/infra/rate-limit/memory.ts";
import { createRedisRateLimiter } from "../../src/infra/rate-limit/redis.ts";
import { connectRedis } from "../../src/infra/redis/connect.ts";
import { systemClock } from "../../src/lib/clock.ts";
import { createLogger, type Logger } from "../../src/lib/logger.ts";
import { testRedisUrl, uniqueRedisPrefix } from "../support/redis.ts";
import { startThrowawayRedis } from "../support/throwaway-redis.ts";
import { testRateLimiter, uniqueBucket } from "./rate-limiter.contract.ts";

const url = testRedisUrl();
const silent = createLogger({ level: "silent" });

/** A logger that keeps what it would print, so tests can read the warnings. */
function recordingLogger(): { logger: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe.skipIf(!url)("Redis rate limiter", () => {
  if (!url) return;
  const prefix = uniqueRedisPrefix();
  let client: Redis;
  beforeAll(async () => {
    client = await connectRedis({ url, logger: silent, name: "test-rate-limit" });
  });
  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  });

  testRateLimiter("redis", {
    createLimiter: async () => createRedisRateLimiter({ client, prefix }),
    time: "real",
    additionalTests() {
      it("shares each bucket between instances, and lets an idle bucket expire after one period", async () => {
        const other = await connectRedis({ url, logger: silent, name: "test-rate-limit-2" });
        try {
          const [a, b] = [
            createRedisRateLimiter({ client, prefix }),
            createRedisRateLimiter({ client: other, prefix }),
          ];
          const key = uniqueBucket();
          const rule = { capacity: 2, periodSeconds: 30 };
          expect(await a.consume(key, rule)).toEqual({ allowed: true, remaining: 1 });
          expect(await b.consume(key, rule)).toEqual({ allowed: true, remaining: 0 });
          expect((await a.consume(key, rule)).allowed).toBe(false);
          const ttl = await client.pttl(`${prefix}rl:${key}`);
          expect(ttl).toBeGreaterThan(25_000);
          expect(ttl).toBeLessThanOrEqual(30_000);
        } finally {
          await other.quit();
        }
      });
    },
  });

  testRateLimiter("redis, with the in-memory fallback", {
    createLimiter: async (clock) =>
      createFallbackRateLimiter({
        shared: createRedisRateLimiter({ client, prefix }),
        local: createMemoryRateLimiter({ clock }),
        clock,
        logger: silent,
      }),
    time: "real",
  });

  it("falls back to per-instance buckets while Redis is unreachable, logging and counting it once, and back when it returns", async () => {
    let server = await startThrowawayRedis();
    const { logger, lines } = recordingLogger();
    const doomed = await connectRedis({ url: server.url, logger: silent, name: "test-doomed" });
    const modes: string[] = [];
    try {
      const limiter = createFallbackRateLimiter({
        shared: createRedisRateLimiter({ client: doomed, prefix }),
        local: createMemoryRateLimiter({ clock: systemClock }),
        clock: systemClock,
        logger,
        onModeChange: (mode) => modes.push(mode),
      });
      const key = uniqueBucket();
      const rule = { capacity: 2, periodSeconds: 60 };
      expect(await limiter.consume(key, rule)).toEqual({ allowed: true, remaining: 1 });
      expect(limiter.stats()).toMatchObject({ mode: "shared", fallbacks: 0, localBuckets: 0 });

      await server.stop();
      const startedAt = Date.now();
      // The local buckets start full: the limit holds again from here, per instance, without waiting for timeouts.
      const whileDown = await Promise.all(Array.from({ length: 5 }, () => limiter.consume(key, rule)));
      expect(whileDown.filter((decision) => decision.allowed)).toHaveLength(2);
      expect((await limiter.consume(key, rule)).allowed).toBe(false);
      expect(Date.now() - startedAt).toBeLessThan(1000);
      expect(limiter.stats()).toMatchObject({ mode: "local", fallbacks: 1, localBuckets: 1 });
      expect(modes).toEqual(["local"]);
      const warnings = lines.filter((line) => line.level === "warn");
      expect(warnings.map((line) => line.msg)).toEqual([expect.stringMatching(/rate limiting falls back/)]);

      // The restarted server is empty: no bucket and no cached script (EVALSHA answers NOSCRIPT).
      server = await startThrowawayRedis({ port: server.port });
      await vi.waitFor(() => expect(doomed.status).toBe("ready"), { timeout: 10_000 });
      // Calls keep going to the local buckets until one, at most a second later, finds Redis answering again.
      await vi.waitFor(
        async () => {
          await limiter.consume(uniqueBucket("probe"), rule);
          expect(limiter.stats().mode).toBe("shared");
        },
        { timeout: 3000, interval: 100 },
      );
      expect(await limiter.consume(key, rule)).toEqual({ allowed: true, remaining: 1 });
      expect(modes).toEqual(["local", "shared"]);
      expect(lines.filter((line) => line.level === "info").map((line) => line.msg)).toEqual([
        expect.stringMatching(/rate limiting restored/),
      ]);
      expect(lines.filter((line) => line.level === "warn")).toHaveLength(1);
    } finally {
      doomed.disconnect();
      await server.stop();
    }
  });
});
