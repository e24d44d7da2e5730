import { describe, expect, it } from "vitest";
import { createBatchLoader } from "../../src/lib/batch-loader.ts";

describe("the batch loader", () => {
  it("answers every load made in one turn with one call, each with its own key's value", async () => {
    const calls: string[][] = [];
    const loader = createBatchLoader<string, number>({
      maxBatch: 100,
      missing: -1,
      loadMany: async (keys) => {
        calls.push(keys);
        return new Map(keys.filter((key) => key !== "ghost").map((key) => [key, key.length]));
      },
    });
    const answers = await Promise.all(["a", "bb", "a", "ccc", "ghost"].map((key) => loader.load(key)));
    expect(answers).toEqual([1, 2, 1, 3, -1]);
    expect(calls).toEqual([["a", "bb", "ccc", "ghost"]]);
    expect(await loader.load("dddd")).toBe(4); // a later turn is a new batch
    expect(calls).toHaveLength(2);
  });

  it("splits a batch past maxBatch, and rejects only the loads of a call that failed", async () => {
    const loader = createBatchLoader<number, number>({
      maxBatch: 2,
      missing: 0,
      loadMany: async (keys) => {
        if (keys.includes(3)) throw new Error("database down");
        return new Map(keys.map((key) => [key, key * 10]));
      },
    });
    const outcomes = await Promise.allSettled([1, 2, 3, 4, 5].map((key) => loader.load(key)));
    expect(outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : "failed"))).toEqual([10, 20, "failed", "failed", 50]);
  });

  it("never reads before the call that asked: a load made after an event sees a batch formed after it", async () => {
    let version = 0;
    const loader = createBatchLoader<string, number>({ maxBatch: 10, missing: -1, loadMany: async (keys) => new Map(keys.map((key) => [key, version])) });
    const first = loader.load("k");
    version = 1; // changes made in the same turn, before the batch runs, are seen by it
    expect(await first).toBe(1);
  });
});
