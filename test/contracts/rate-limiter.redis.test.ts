import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createRedisRateLimiter } from "../../src/infra/rate-limit/redis.ts";
import { connectRedis } from "../../src/infra/redis/connect.ts";
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
    createLimiter: async () => createRedisRateLimiter({ client, prefix, logger: silent }),
    time: "real",
    additionalTests() {
      it("shares each bucket between instances, and lets an idle bucket expire after one period", async () => {
        const other = await connectRedis({ url, logger: silent, name: "test-rate-limit-2" });
        try {
          const [a, b] = [
            createRedisRateLimiter({ client, prefix, logger: silent }),
            createRedisRateLimiter({ client: other, prefix, logger: silent }),
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

  it("fails open while Redis is unreachable, warning once rather than per call, and logs the recovery", async () => {
    let server = await startThrowawayRedis();
    const { logger, lines } = recordingLogger();
    const doomed = await connectRedis({ url: server.url, logger: silent, name: "test-doomed" });
    try {
      const limiter = createRedisRateLimiter({ client: doomed, prefix, logger });
      const key = uniqueBucket();
      const rule = { capacity: 1, periodSeconds: 60 };
      expect(await limiter.consume(key, rule)).toEqual({ allowed: true, remaining: 0 });
      expect((await limiter.consume(key, rule)).allowed).toBe(false);

      await server.stop();
      const startedAt = Date.now();
      const whileDown = await Promise.all(Array.from({ length: 5 }, () => limiter.consume(key, rule)));
      expect(whileDown.every((decision) => decision.allowed)).toBe(true);
      expect(Date.now() - startedAt).toBeLessThan(1000);
      expect((await limiter.consume(key, rule)).allowed).toBe(true);
      const warnings = lines.filter((line) => line.level === "warn");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.msg).toMatch(/rate limiting is disabled while Redis is unreachable/);

      // The restarted server is empty: no bucket and no cached script (EVALSHA answers NOSCRIPT).
      server = await startThrowawayRedis({ port: server.port });
      await vi.waitFor(() => expect(doomed.status).toBe("ready"), { timeout: 10_000 });
      expect(await limiter.consume(key, rule)).toEqual({ allowed: true, remaining: 0 });
      expect((await limiter.consume(key, rule)).allowed).toBe(false);
      expect(lines.filter((line) => line.level === "info").map((line) => line.msg)).toEqual([
        expect.stringMatching(/rate limiting restored/),
      ]);
    } finally {
      doomed.disconnect();
      await server.stop();
    }
  });
});
