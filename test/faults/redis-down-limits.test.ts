import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { uniqueUsername } from "../support/factories.ts";
import { bearer, createHttpProbe, type HttpProbe, type ProbeAnswer, resultOf, type SignedUp, signUp } from "../support/http-probe.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";
import { startThrowawayRedis, type ThrowawayRedis } from "../support/throwaway-redis.ts";

const PASSWORD = "correct horse battery staple"; // what signUp registers with
/** What an ioredis failure says; none of it may reach a client. */
const REDIS_INTERNALS = /stream|writeable|offline ?queue|ioredis|ECONNREFUSED|connection is closed|redis/i;

/**
 * A Bun server whose Redis (a private redis-server, never the shared one) is killed. Rate limits must not vanish
 * with it: the instance counts in its own memory meanwhile, says so once in its log, and once more when Redis is
 * back. What cannot work without Redis (one-time socket tickets) answers a typed UNAVAILABLE, never a 500.
 */
describe("rate limits and socket tickets while Redis is down", () => {
  let redis: ThrowawayRedis;
  let server: ServerProcess;
  let probe: HttpProbe;

  beforeAll(async () => {
    redis = await startThrowawayRedis();
    server = await startServer("bun", {
      REDIS_URL: redis.url,
      RATE_LIMIT_AUTH_PER_IP: "1000/60",
      RATE_LIMIT_AUTH_PER_ACCOUNT_IP: "5/900",
      RATE_LIMIT_AUTH_PER_ACCOUNT: "30/900",
    });
    probe = createHttpProbe(server.url);
  });
  afterAll(async () => {
    const code = await server?.stop();
    await redis?.stop();
    expect(code, server?.output()).toBe(0);
  });

  const outcome = (answer: ProbeAnswer): string => `${answer.status} ${answer.errorCode ?? ""}`.trim();
  const logged = (msg: RegExp): Record<string, unknown>[] => server.logs.filter((line) => msg.test(String(line.msg)));

  it("keeps limiting wrong logins per instance, answers tickets with a typed 503, and logs the fallback and the recovery once each", async () => {
    const owner: SignedUp = await signUp(probe, uniqueUsername("redisdown"));
    const ticketBefore = resultOf<{ ticket: string }>(await probe.mutate("auth.wsTicket", {}, { headers: bearer(owner.accessToken) })).ticket;

    await redis.stop();
    const wrong: string[] = [];
    for (let i = 0; i < 15; i++) {
      wrong.push(outcome(await probe.mutate("auth.login", { login: owner.user.username, password: `guess ${i}`, refreshTokenIn: "body" })));
    }
    expect(wrong).toEqual([...Array(5).fill("401 UNAUTHORIZED"), ...Array(10).fill("429 TOO_MANY_REQUESTS")]);

    // Tickets live in Redis: neither issuing nor redeeming one can work, and both say so in a typed, clean answer.
    const issue = await probe.mutate("auth.wsTicket", {}, { headers: bearer(owner.accessToken) });
    expect(outcome(issue), issue.text).toBe("503 SERVICE_UNAVAILABLE");
    expect(issue.text).not.toMatch(REDIS_INTERNALS);
    const upgrade = await probe.upgrade(`/ws?ticket=${ticketBefore}`);
    expect(outcome(upgrade), upgrade.text).toBe("503 UNAVAILABLE");
    expect(upgrade.text).not.toMatch(REDIS_INTERNALS);

    expect(logged(/rate limiting falls back/)).toHaveLength(1);
    expect(logged(/rate limiting falls back/)[0]).toMatchObject({ level: "warn" });

    redis = await startThrowawayRedis({ port: redis.port });
    // The limiter goes back to Redis on the first call that finds it answering (at most one try a second).
    await vi.waitFor(
      async () => {
        await probe.mutate("auth.login", { login: uniqueUsername("nobody"), password: "any password at all" });
        expect(logged(/rate limiting restored/)).toHaveLength(1);
      },
      { timeout: 15_000, interval: 250 },
    );
    const ticketAfter = await probe.mutate("auth.wsTicket", {}, { headers: bearer(owner.accessToken) });
    expect(ticketAfter.status, ticketAfter.text).toBe(200);
    // Back on Redis (which came back empty): the shared buckets count from scratch, across instances again.
    const other: SignedUp = await signUp(probe, uniqueUsername("redisback"));
    const afterRestore: string[] = [];
    for (let i = 0; i < 7; i++) {
      afterRestore.push(outcome(await probe.mutate("auth.login", { login: other.user.username, password: `guess ${i}` })));
    }
    expect(afterRestore).toEqual([...Array(5).fill("401 UNAUTHORIZED"), ...Array(2).fill("429 TOO_MANY_REQUESTS")]);
    await expect(probe.mutate("auth.login", { login: owner.user.username, password: PASSWORD })).resolves.toMatchObject({ status: 200 });
    expect(logged(/rate limiting restored/)).toHaveLength(1);
    expect(logged(/rate limiting falls back/)).toHaveLength(1);
    expect(probe.answers.filter((answer) => answer.status >= 500 && answer.status !== 503)).toEqual([]);
  });
});
