import { describe, expect, it } from "vitest";
import { createConcurrencyLimit } from "../../src/lib/concurrency.ts";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("a concurrency limit", () => {
  it("runs at most `limit` tasks at once, the others in arrival order", async () => {
    const limit = createConcurrencyLimit(2, { maxHoldMs: 10_000 });
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        limit.run(async () => {
          started.push(index);
          running += 1;
          peak = Math.max(peak, running);
          await sleep(10);
          running -= 1;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(limit.pending()).toBe(0);
  });

  it("lets the next task start once a slow one has held its place for maxHoldMs, and passes errors through", async () => {
    const limit = createConcurrencyLimit(1, { maxHoldMs: 30 });
    const slow = limit.run(() => sleep(500));
    const startedAt = performance.now();
    const quick = limit.run(async () => performance.now() - startedAt);
    expect(await quick).toBeLessThan(300);
    await expect(limit.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await slow;
    expect(limit.pending()).toBe(0);
  });
});
