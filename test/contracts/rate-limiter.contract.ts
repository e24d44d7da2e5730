import { afterEach, describe, expect, it } from "vitest";
import type { RateLimiter } from "../../src/infra/rate-limit/rate-limit.ts";
import type { Clock } from "../../src/lib/clock.ts";

export interface RateLimiterHarness {
  /** A limiter for one test; the suite closes it. Implementations that take a clock get this one. */
  createLimiter(clock: Clock): Promise<RateLimiter>;
  /** "injected": the limiter reads `clock`, moved by hand. "real": it keeps its own time (Redis TIME), so the suite waits. */
  time: "injected" | "real";
  /** Implementation-specific specifications, run inside the same describe block. */
  additionalTests?(): void;
}

let bucketCounter = 0;
export function uniqueBucket(label = "caller"): string {
  bucketCounter += 1;
  return `${label}:${bucketCounter}:${Math.random().toString(36).slice(2, 8)}`;
}

/** The RateLimiter port's specification (token buckets), run against one implementation. */
export function testRateLimiter(name: string, harness: RateLimiterHarness): void {
  describe(`RateLimiter contract: ${name}`, () => {
    let now = Date.now();
    const clock: Clock = { now: () => new Date(now) };
    const open: RateLimiter[] = [];
    const createLimiter = async (): Promise<RateLimiter> => {
      const limiter = await harness.createLimiter(clock);
      open.push(limiter);
      return limiter;
    };
    const passTime = async (ms: number): Promise<void> => {
      if (harness.time === "injected") now += ms;
      else await new Promise((resolve) => setTimeout(resolve, ms));
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((limiter) => limiter.close()));
    });

    it("allows a full bucket's capacity, counting down what remains, then refuses with a retry delay", async () => {
      const limiter = await createLimiter();
      const key = uniqueBucket();
      const rule = { capacity: 3, periodSeconds: 60 }; // one token every 20 s
      const decisions = [];
      for (let call = 0; call < 3; call++) decisions.push(await limiter.consume(key, rule));
      expect(decisions).toEqual([
        { allowed: true, remaining: 2 },
        { allowed: true, remaining: 1 },
        { allowed: true, remaining: 0 },
      ]);
      expect(await limiter.consume(key, rule)).toEqual({ allowed: false, retryAfterSeconds: 20 });
    });

    it("refills the bucket evenly over its period", async () => {
      const limiter = await createLimiter();
      const key = uniqueBucket();
      const rule = { capacity: 2, periodSeconds: 1 }; // one token every 500 ms
      expect((await limiter.consume(key, rule)).allowed).toBe(true);
      expect((await limiter.consume(key, rule)).allowed).toBe(true);
      expect(await limiter.consume(key, rule)).toEqual({ allowed: false, retryAfterSeconds: 1 });

      await passTime(600);
      expect(await limiter.consume(key, rule)).toEqual({ allowed: true, remaining: 0 });
      expect((await limiter.consume(key, rule)).allowed).toBe(false);
    });

    it("keeps each key's bucket independent", async () => {
      const limiter = await createLimiter();
      const rule = { capacity: 1, periodSeconds: 60 };
      const [noisy, quiet] = [uniqueBucket("noisy"), uniqueBucket("quiet")];
      expect((await limiter.consume(noisy, rule)).allowed).toBe(true);
      expect((await limiter.consume(noisy, rule)).allowed).toBe(false);
      expect(await limiter.consume(quiet, rule)).toEqual({ allowed: true, remaining: 0 });
    });

    it("charges a cost above 1 in one step, and a refused call takes nothing", async () => {
      const limiter = await createLimiter();
      const key = uniqueBucket();
      const rule = { capacity: 5, periodSeconds: 50 }; // one token every 10 s
      expect(await limiter.consume(key, rule, 3)).toEqual({ allowed: true, remaining: 2 });
      expect(await limiter.consume(key, rule, 3)).toEqual({ allowed: false, retryAfterSeconds: 10 });
      expect(await limiter.consume(key, rule, 2)).toEqual({ allowed: true, remaining: 0 });
    });

    it("gives refunded tokens back, never beyond capacity", async () => {
      const limiter = await createLimiter();
      const key = uniqueBucket();
      const rule = { capacity: 3, periodSeconds: 60 };
      for (let call = 0; call < 3; call++) await limiter.consume(key, rule);
      expect((await limiter.consume(key, rule)).allowed).toBe(false);
      await limiter.refund(key, rule);
      expect(await limiter.consume(key, rule)).toEqual({ allowed: true, remaining: 0 });
      await limiter.refund(key, rule, 10);
      expect(await limiter.consume(key, rule)).toEqual({ allowed: true, remaining: 2 });
    });

    it("changes nothing when refunding a bucket that was never charged", async () => {
      const limiter = await createLimiter();
      const key = uniqueBucket();
      const rule = { capacity: 2, periodSeconds: 60 };
      await limiter.refund(key, rule, 5);
      expect(await limiter.consume(key, rule)).toEqual({ allowed: true, remaining: 1 });
    });

    harness.additionalTests?.();
  });
}
