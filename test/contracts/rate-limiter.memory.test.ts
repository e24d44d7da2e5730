import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { createMemoryRateLimiter } from "../../src/infra/rate-limit/memory.ts";
import type { Clock } from "../../src/lib/clock.ts";
import { testRateLimiter, uniqueBucket } from "./rate-limiter.contract.ts";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;

/** A clock of its own, so these specs can move time without touching the contract suite's. */
function handClock(): Clock & { advance(ms: number): void } {
  let now = Date.now();
  return { now: () => new Date(now), advance: (ms) => void (now += ms) };
}

testRateLimiter("memory", {
  createLimiter: async (clock) => createMemoryRateLimiter({ clock }),
  time: "injected",
  additionalTests() {
    it("forgets a bucket once it has refilled to capacity (such a bucket is the same as none)", async () => {
      const clock = handClock();
      const limiter = createMemoryRateLimiter({ clock });
      try {
        const rule = { capacity: 5, periodSeconds: 60 };
        for (let i = 0; i < 1000; i++) await limiter.consume(uniqueBucket("idle"), rule, 5);
        const busy = uniqueBucket("busy");
        await limiter.consume(busy, rule, 5);
        expect(limiter.stats().localBuckets).toBe(1001);

        clock.advance(13_000); // one token back for everyone: nobody is full yet
        expect((await limiter.consume(busy, rule)).allowed).toBe(true);
        expect(limiter.stats().localBuckets).toBe(1001);

        clock.advance(60_000); // every idle bucket is full again
        expect(await limiter.consume(busy, rule)).toEqual({ allowed: true, remaining: 4 });
        expect(limiter.stats().localBuckets).toBe(1);
      } finally {
        await limiter.close();
      }
    });

    it("stays within its bucket cap under a flood of 500,000 distinct keys, and keeps limiting the keys in use", async () => {
      const clock = handClock();
      const limiter = createMemoryRateLimiter({ clock, maxBuckets: 10_000 });
      try {
        const rule = { capacity: 3, periodSeconds: 600 };
        const attacker = uniqueBucket("attacker");
        for (let i = 0; i < 3; i++) await limiter.consume(attacker, rule);
        let largest = 0;
        let attackerAllowed = 0;
        for (let i = 0; i < 500_000; i++) {
          await limiter.consume(`flood:${i}`, rule);
          if (i % 1000 === 0) {
            if ((await limiter.consume(attacker, rule)).allowed) attackerAllowed += 1;
            largest = Math.max(largest, limiter.stats().localBuckets);
          }
        }
        expect(largest).toBeLessThanOrEqual(10_000);
        expect(limiter.stats().localBuckets).toBeLessThanOrEqual(10_000);
        expect(limiter.stats().evictedBeforeRefill).toBeGreaterThan(0);
        // The flood took no more than an ordinary refill would have given back (the clock did not move).
        expect(attackerAllowed).toBe(0);
        expect((await limiter.consume(attacker, rule)).allowed).toBe(false);
      } finally {
        await limiter.close();
      }
    }, 60_000);

    it("holds under 40 MB of heap after 500,000 distinct keys and a GC, with the default cap (it kept 87 MB)", async () => {
      // A process of its own, for an honest heap figure (and --expose-gc).
      const script = `
        import { createMemoryRateLimiter } from "./src/infra/rate-limit/memory.ts";
        const limiter = createMemoryRateLimiter({ clock: { now: () => new Date() } });
        globalThis.gc(); const before = process.memoryUsage().heapUsed;
        const rule = { capacity: 10, periodSeconds: 60 };
        for (let i = 0; i < 500_000; i++) await limiter.consume("auth-account:login:flood-" + i + "@example.test", rule);
        globalThis.gc(); const after = process.memoryUsage().heapUsed;
        console.log(JSON.stringify({ grownBytes: after - before }));
        await limiter.close();`;
      const { stdout } = await run(process.execPath, ["--expose-gc", "--import", "tsx", "--input-type=module", "-e", script], {
        cwd: ROOT,
      });
      const { grownBytes } = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as { grownBytes: number };
      expect(grownBytes).toBeLessThan(40 * 1024 * 1024); // about 24 MB: 100,000 buckets of ~240 bytes
    }, 60_000);
  },
});
