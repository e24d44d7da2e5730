import { describe, expect, it } from "vitest";
import { type BackoffOptions, DEFAULT_BACKOFF, fullJitterDelay } from "../src/realtime/backoff.ts";

/**
 * Reconnect delays: full jitter over an exponentially growing window, capped. `random` is injectable, so the
 * window's bounds are checked exactly with fixed draws and its spread statistically with Math.random.
 */
const options: BackoffOptions = { minDelayMs: 100, maxDelayMs: 10_000 };
const ceiling = (attempt: number, { minDelayMs, maxDelayMs }: BackoffOptions = options): number =>
  Math.min(maxDelayMs, minDelayMs * 2 ** attempt);
/** The largest value Math.random can return. */
const ALMOST_ONE = 1 - Number.EPSILON / 2;

describe("full-jitter backoff", () => {
  it("draws every delay from [0, min(max, min·2^attempt)], as a whole number of milliseconds", () => {
    for (let attempt = 0; attempt <= 40; attempt++) {
      for (let draw = 0; draw < 200; draw++) {
        const delay = fullJitterDelay(attempt, options);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling(attempt));
      }
    }
  });

  it("scales a fixed draw with the window: exact values, doubling per attempt", () => {
    const half = (): number => 0.5;
    expect([0, 1, 2, 3, 4].map((attempt) => fullJitterDelay(attempt, options, half))).toEqual([50, 100, 200, 400, 800]);
    expect(fullJitterDelay(3, options, () => 0)).toBe(0);
    expect(fullJitterDelay(3, options, () => 0.25)).toBe(200);
  });

  it("stops growing at the cap: late attempts share the same window", () => {
    // 100 · 2^7 = 12 800 > 10 000: from the 7th attempt on, the window is the cap.
    expect(fullJitterDelay(6, options, () => ALMOST_ONE)).toBe(6399);
    for (const attempt of [7, 8, 20, 30]) {
      expect(fullJitterDelay(attempt, options, () => ALMOST_ONE)).toBe(9999);
      expect(fullJitterDelay(attempt, options, () => 0.5)).toBe(5000);
    }
  });

  it("does not overflow on huge attempt numbers, even with no practical cap", () => {
    for (const attempt of [1_000, 1e9, Number.MAX_SAFE_INTEGER, Infinity]) {
      const capped = fullJitterDelay(attempt, options, () => ALMOST_ONE);
      expect(capped).toBe(9999);
      const uncapped = fullJitterDelay(attempt, { minDelayMs: 500, maxDelayMs: Number.MAX_VALUE }, () => ALMOST_ONE);
      expect(Number.isFinite(uncapped)).toBe(true);
      expect(Number.isSafeInteger(uncapped)).toBe(true);
    }
  });

  it("spreads real random draws over the whole window instead of clustering", () => {
    const attempt = 2;
    const window = ceiling(attempt); // 400
    const draws = Array.from({ length: 4000 }, () => fullJitterDelay(attempt, options));
    // Ten equal buckets: with 4000 uniform draws each expects ~400; an empty or tiny bucket means no real jitter.
    const buckets = new Array<number>(10).fill(0);
    for (const delay of draws) buckets[Math.min(9, Math.floor((delay / window) * 10))]! += 1;
    for (const count of buckets) expect(count).toBeGreaterThan(250);
    expect(Math.min(...draws)).toBeLessThan(window * 0.02);
    expect(Math.max(...draws)).toBeGreaterThan(window * 0.98);
    const mean = draws.reduce((sum, delay) => sum + delay, 0) / draws.length;
    expect(mean).toBeGreaterThan(window * 0.45);
    expect(mean).toBeLessThan(window * 0.55);
    expect(new Set(draws).size).toBeGreaterThan(300);
  });

  it("defaults to a window starting at half a second and capped at thirty", () => {
    expect(DEFAULT_BACKOFF).toEqual({ minDelayMs: 500, maxDelayMs: 30_000 });
    expect(fullJitterDelay(0, DEFAULT_BACKOFF, () => ALMOST_ONE)).toBe(499);
    expect(fullJitterDelay(50, DEFAULT_BACKOFF, () => ALMOST_ONE)).toBe(29_999);
  });
});
