import { describe, expect, it } from "vitest";
import { createSessionCache } from "../../src/domain/auth/session-cache.ts";
import { createTestClock } from "../support/test-deps.ts";

const far = new Date(Date.now() + 86_400_000);

/** The session cache is only as safe as its invalidation: these are the races it must lose gracefully. */
describe("the session cache", () => {
  it("serves a remembered session until its TTL, and never past the session's own expiry", () => {
    const clock = createTestClock();
    const cache = createSessionCache({ clock, ttlMs: 30_000, maxEntries: 10 });
    cache.remember("long", { userId: "u1", expiresAt: far }, cache.revocations());
    cache.remember("short", { userId: "u2", expiresAt: new Date(clock.now().getTime() + 5_000) }, cache.revocations());
    expect(cache.get("long")).toEqual({ userId: "u1" });
    clock.advance(5_000);
    expect(cache.get("short")).toBeUndefined();
    expect(cache.get("long")).toEqual({ userId: "u1" });
    clock.advance(25_000);
    expect(cache.get("long")).toBeUndefined();
  });

  it("drops a lookup that was in flight when any revocation arrived (its answer may predate it)", () => {
    const cache = createSessionCache({ clock: createTestClock(), ttlMs: 30_000, maxEntries: 10 });
    const before = cache.revocations();
    cache.forget("s1"); // a logout broadcast lands while the database read for s1 is still running
    cache.remember("s1", { userId: "u1", expiresAt: far }, before);
    expect(cache.get("s1")).toBeUndefined();
  });

  it("forgets a revoked session at once, and serves nothing while revocations cannot reach it", () => {
    const cache = createSessionCache({ clock: createTestClock(), ttlMs: 30_000, maxEntries: 10 });
    cache.remember("s1", { userId: "u1", expiresAt: far }, cache.revocations());
    cache.remember("s2", { userId: "u2", expiresAt: far }, cache.revocations());
    cache.forget("s1");
    expect(cache.get("s1")).toBeUndefined();
    cache.trust(false); // the bus went down
    expect(cache.get("s2")).toBeUndefined();
    cache.remember("s2", { userId: "u2", expiresAt: far }, cache.revocations());
    expect(cache.get("s2")).toBeUndefined();
    cache.trust(true);
    expect(cache.get("s2")).toBeUndefined(); // emptied: what was cached may have been revoked meanwhile
  });

  it("keeps at most maxEntries, dropping the longest-cached first", () => {
    const cache = createSessionCache({ clock: createTestClock(), ttlMs: 30_000, maxEntries: 3 });
    for (const id of ["a", "b", "c", "d"]) cache.remember(id, { userId: id, expiresAt: far }, cache.revocations());
    expect(["a", "b", "c", "d"].map((id) => cache.get(id) !== undefined)).toEqual([false, true, true, true]);
  });
});
