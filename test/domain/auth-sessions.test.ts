import { sha256 } from "@oslojs/crypto/sha2";
import { encodeHexLowerCase } from "@oslojs/encoding";
import { eq } from "drizzle-orm";
import { base64url, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import type { IssuedTokens, RequestMeta } from "../../src/domain/auth/auth.schema.ts";
import { createAccountDeparture } from "../../src/domain/rooms/account-departure.ts";
import { type AuthService, createAuthService } from "../../src/domain/auth/auth.service.ts";
import { createSessionStore } from "../../src/domain/auth/sessions.ts";
import { refreshTokens, sessions, users } from "../../src/infra/db/schema.ts";
import type { KeyValueStore } from "../../src/infra/kv/kv.ts";
import { createRedisKeyValueStore } from "../../src/infra/kv/redis.ts";
import { connectRedis } from "../../src/infra/redis/connect.ts";
import { DomainError } from "../../src/lib/domain-error.ts";
import { createMemoryKeyValueStore } from "../../src/infra/kv/memory.ts";
import { createLogger, type Logger } from "../../src/lib/logger.ts";
import { createBusEventPublisher } from "../../src/realtime/event-publisher.ts";
import { databaseKinds } from "../support/databases.ts";
import { uniqueUsername } from "../support/factories.ts";
import { testRedisUrl, uniqueRedisPrefix } from "../support/redis.ts";
import { startThrowawayRedis } from "../support/throwaway-redis.ts";
import { createTestDeps, settle, TEST_JWT, TEST_RATE_LIMITS, type TestDeps } from "../support/test-deps.ts";

const META: RequestMeta = { ip: "203.0.113.7", userAgent: "vitest" };
const PASSWORD = "a long enough passphrase";

async function signUp(deps: TestDeps, auth: AuthService = deps.services.auth): Promise<IssuedTokens> {
  const username = uniqueUsername("sess");
  return auth.register(
    { email: `${username}@example.test`, username, password: PASSWORD, refreshTokenIn: "body" },
    META,
  );
}

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("expected a rejection"),
    (error: unknown) => error,
  );
}

async function expectUnauthorized(promise: Promise<unknown>): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(DomainError);
  expect(error).toMatchObject({ code: "UNAUTHORIZED", message: "invalid or expired access token" });
}

/** The real auth service on the test database, bus and clock, with another ticket store or logger. */
function authServiceOn(deps: TestDeps, parts: { kv?: KeyValueStore; logger?: Logger }): AuthService {
  return createAuthService({
    database: deps.database,
    ticketKv: parts.kv ?? deps.kv,
    rateLimiter: deps.rateLimiter,
    events: createBusEventPublisher(deps.bus),
    clock: deps.clock,
    logger: parts.logger ?? deps.logger,
    jwt: TEST_JWT,
    refreshTokenTtlSeconds: 30 * 86400,
    leaveEveryRoom: (userId) => createAccountDeparture({ database: deps.database, log: deps.services.roomLog, logger: deps.logger }).leaveEveryRoom(userId),
    rateLimits: {
      authPerIp: TEST_RATE_LIMITS.authPerIp,
      authPerAccountIp: TEST_RATE_LIMITS.authPerAccountIp,
      authPerAccount: TEST_RATE_LIMITS.authPerAccount,
      wsTicketPerUser: TEST_RATE_LIMITS.wsTicketPerUser,
      emailPerUser: TEST_RATE_LIMITS.emailPerUser,
      passwordResetPerEmail: TEST_RATE_LIMITS.passwordResetPerEmail,
    },
  });
}

/** Ticket redemption rests on the KV's atomic `take`: check it on every implementation. */
function describeConcurrencyOn(name: string, options: { kv(deps: TestDeps): Promise<KeyValueStore>; deps(): TestDeps }): void {
  describe(`on the ${name} KV`, () => {
    let kv: KeyValueStore;
    let auth: AuthService;
    beforeAll(async () => {
      kv = await options.kv(options.deps());
      auth = authServiceOn(options.deps(), { kv });
    });
    afterAll(async () => {
      await kv?.close();
    });

    it("lets exactly one of 20 concurrent ws-ticket redeems win", async () => {
      const signedIn = await signUp(options.deps(), auth);
      const { ticket } = await auth.issueWsTicket(await auth.verifyAccessToken(signedIn.accessToken), undefined);
      const claims = await Promise.all(Array.from({ length: 20 }, () => auth.redeemWsTicket(ticket)));
      expect(claims.filter((claim) => claim !== null)).toHaveLength(1);
    });
  });
}

const encodeJson = (value: unknown): string => base64url.encode(JSON.stringify(value));

describe.each(databaseKinds)("auth sessions on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  describe("access tokens", () => {
    let signedIn: IssuedTokens;
    let sessionId: string;
    beforeEach(async () => {
      signedIn = await signUp(deps);
      sessionId = (await deps.services.auth.verifyAccessToken(signedIn.accessToken)).sessionId;
    });

    /** A token with the given header and claims, HS256-signed with `secret` unless said otherwise. */
    const forge = (options: {
      secret?: string;
      alg?: string;
      typ?: string;
      iss?: string;
      aud?: string;
      sid?: string;
      expiresInSeconds?: number;
    }): Promise<string> => {
      const now = Math.floor(deps.clock.now().getTime() / 1000);
      const header: { alg: string; typ?: string } = { alg: options.alg ?? "HS256" };
      if (options.typ !== "") header.typ = options.typ ?? "at+jwt";
      return new SignJWT({ sid: options.sid ?? sessionId })
        .setProtectedHeader(header)
        .setIssuer(options.iss ?? TEST_JWT.issuer)
        .setAudience(options.aud ?? TEST_JWT.audience)
        .setSubject(signedIn.user.id)
        .setIssuedAt(now)
        .setExpirationTime(now + (options.expiresInSeconds ?? 600))
        .sign(new TextEncoder().encode(options.secret ?? TEST_JWT.secret));
    };

    it("names the user and the session, and expires after the configured TTL", async () => {
      const session = await deps.services.auth.verifyAccessToken(signedIn.accessToken);
      expect(session.userId).toBe(signedIn.user.id);
      expect(session.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      const ttlMs = new Date(signedIn.accessTokenExpiresAt).getTime() - deps.clock.now().getTime();
      expect(ttlMs).toBeGreaterThan((TEST_JWT.accessTokenTtlSeconds - 5) * 1000);
      expect(ttlMs).toBeLessThanOrEqual(TEST_JWT.accessTokenTtlSeconds * 1000);
    });

    it("accepts a token we could have signed ourselves (the forgery helper is sound)", async () => {
      await expect(deps.services.auth.verifyAccessToken(await forge({}))).resolves.toEqual({
        userId: signedIn.user.id,
        sessionId,
      });
    });

    it("refuses alg none", async () => {
      const [, payload] = (await forge({})).split(".");
      await expectUnauthorized(deps.services.auth.verifyAccessToken(`${encodeJson({ alg: "none", typ: "at+jwt" })}.${payload}.`));
    });

    it("refuses a token signed with another key", async () => {
      await expectUnauthorized(deps.services.auth.verifyAccessToken(await forge({ secret: "another-secret-another-secret-0123456789" })));
    });

    it("refuses another algorithm even with the right key", async () => {
      await expectUnauthorized(deps.services.auth.verifyAccessToken(await forge({ alg: "HS512" })));
    });

    it("refuses a wrong issuer, a wrong audience, a wrong or missing typ", async () => {
      for (const token of [
        await forge({ iss: "someone-else" }),
        await forge({ aud: "another-api" }),
        await forge({ typ: "JWT" }),
        await forge({ typ: "" }),
      ]) {
        await expectUnauthorized(deps.services.auth.verifyAccessToken(token));
      }
    });

    it("refuses a validly signed token whose session does not exist", async () => {
      await expectUnauthorized(deps.services.auth.verifyAccessToken(await forge({ sid: crypto.randomUUID() })));
    });

    it("refuses an expired token, judged by the clock", async () => {
      const token = await forge({ expiresInSeconds: 60 });
      await deps.services.auth.verifyAccessToken(token);
      deps.clock.advance(61_000);
      await expectUnauthorized(deps.services.auth.verifyAccessToken(token));
    });

    it("refuses a refresh token, a ws ticket and garbage presented as an access token", async () => {
      const session = await deps.services.auth.verifyAccessToken(signedIn.accessToken);
      const { ticket } = await deps.services.auth.issueWsTicket(session, undefined);
      for (const token of [signedIn.refreshToken, ticket, "", "garbage", "a.b.c", "..", `${signedIn.accessToken}x`]) {
        await expectUnauthorized(deps.services.auth.verifyAccessToken(token));
      }
    });
  });

  describe("refresh tokens", () => {
    it("are opaque 256-bit strings, never JWTs", async () => {
      const { refreshToken } = await signUp(deps);
      expect(refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it("are stored only as a hash", async () => {
      const { refreshToken } = await signUp(deps);
      const stored = (token: string) =>
        deps.database.db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, token));
      expect(await stored(refreshToken)).toEqual([]);
      const hash = encodeHexLowerCase(sha256(new TextEncoder().encode(refreshToken)));
      expect(await stored(hash)).toHaveLength(1);
    });

    it("belong to a session row that records where and when it was started and last used", async () => {
      const first = await signUp(deps);
      const { sessionId } = await deps.services.auth.verifyAccessToken(first.accessToken);
      const startedAt = deps.clock.now();
      deps.clock.advance(60_000);
      await deps.services.auth.refresh(first.refreshToken, { ip: "2001:db8::7", userAgent: "another browser" });
      const [row] = await deps.database.db.select().from(sessions).where(eq(sessions.id, sessionId));
      expect(row).toMatchObject({
        userId: first.user.id,
        generation: 1,
        ip: "2001:db8::7",
        userAgent: "another browser",
        createdAt: startedAt,
        lastUsedAt: deps.clock.now(),
        expiresAt: new Date(first.refreshTokenExpiresAt),
        revokedAt: null,
      });
    });

    it("rotate on every use: a new refresh token and a new working access token, same session", async () => {
      const first = await signUp(deps);
      const second = await deps.services.auth.refresh(first.refreshToken, META);
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(second.user).toEqual(first.user);
      expect(second.refreshTokenExpiresAt).toBe(first.refreshTokenExpiresAt);
      const before = await deps.services.auth.verifyAccessToken(first.accessToken);
      const after = await deps.services.auth.verifyAccessToken(second.accessToken);
      expect(after).toEqual(before);
      const third = await deps.services.auth.refresh(second.refreshToken, META);
      expect(third.refreshToken).not.toBe(second.refreshToken);
    });

    it("refuse unknown and malformed tokens", async () => {
      for (const token of ["A".repeat(43), "short", ""]) {
        await expect(deps.services.auth.refresh(token, META)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
      }
    });

    it("revoke the whole family when a consumed token comes back", async () => {
      const first = await signUp(deps);
      const events = await deps.recordEvents({ userId: first.user.id });
      const { sessionId } = await deps.services.auth.verifyAccessToken(first.accessToken);
      const second = await deps.services.auth.refresh(first.refreshToken, META);
      deps.clock.advance(60_000); // long after the racing-tab grace

      await expect(deps.services.auth.refresh(first.refreshToken, META)).rejects.toMatchObject({
        code: "UNAUTHORIZED",
      });
      // The thief's copy and the victim's copy are both dead now, and so is every access token of the family.
      await expect(deps.services.auth.refresh(second.refreshToken, META)).rejects.toMatchObject({
        code: "UNAUTHORIZED",
      });
      await expectUnauthorized(deps.services.auth.verifyAccessToken(second.accessToken));
      const [row] = await deps.database.db.select({ revokedAt: sessions.revokedAt }).from(sessions).where(eq(sessions.id, sessionId));
      expect(row?.revokedAt).toEqual(deps.clock.now());
      await settle();
      expect(events).toContainEqual({ type: "session.revoked", sessionId });
    });

    it("refuse with CONFLICT, without revoking, the immediately previous token presented right after its use (racing tabs)", async () => {
      const first = await signUp(deps);
      const second = await deps.services.auth.refresh(first.refreshToken, META);
      deps.clock.advance(1_000);

      await expect(deps.services.auth.refresh(first.refreshToken, META)).rejects.toMatchObject({
        code: "CONFLICT",
      });
      await deps.services.auth.verifyAccessToken(second.accessToken);
      await expect(deps.services.auth.refresh(second.refreshToken, META)).resolves.toMatchObject({
        user: { id: first.user.id },
      });
    });

    it("revoke when the previous token comes back after the grace window", async () => {
      const first = await signUp(deps);
      const second = await deps.services.auth.refresh(first.refreshToken, META);
      deps.clock.advance(10_000);

      await expect(deps.services.auth.refresh(first.refreshToken, META)).rejects.toMatchObject({
        code: "UNAUTHORIZED",
      });
      await expect(deps.services.auth.refresh(second.refreshToken, META)).rejects.toMatchObject({
        code: "UNAUTHORIZED",
      });
    });

    it("revoke when a token two generations old comes back, even within the grace window", async () => {
      const first = await signUp(deps);
      const second = await deps.services.auth.refresh(first.refreshToken, META);
      const third = await deps.services.auth.refresh(second.refreshToken, META);

      await expect(deps.services.auth.refresh(first.refreshToken, META)).rejects.toMatchObject({
        code: "UNAUTHORIZED",
      });
      await expect(deps.services.auth.refresh(third.refreshToken, META)).rejects.toMatchObject({
        code: "UNAUTHORIZED",
      });
      await expectUnauthorized(deps.services.auth.verifyAccessToken(third.accessToken));
    });

    it("let exactly one of 20 concurrent refreshes with one token win, and the family survives", async () => {
      const first = await signUp(deps);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => deps.services.auth.refresh(first.refreshToken, META)),
      );
      const winners = results.filter((result) => result.status === "fulfilled");
      expect(winners).toHaveLength(1);
      // Every loser waited for the winner's commit and saw its token just consumed: CONFLICT, retry with the successor.
      const refusals = results.flatMap((result) => (result.status === "rejected" ? [result.reason.code] : []));
      expect(refusals).toEqual(Array(19).fill("CONFLICT"));
      const winner = winners[0]!.value;
      await deps.services.auth.verifyAccessToken(winner.accessToken);
      await expect(deps.services.auth.refresh(winner.refreshToken, META)).resolves.toMatchObject({
        user: { id: first.user.id },
      });
    });

    it("stop at the absolute session lifetime, however often they were rotated", async () => {
      const first = await signUp(deps);
      deps.clock.advance(29 * 86_400_000);
      const rotated = await deps.services.auth.refresh(first.refreshToken, META);
      expect(rotated.refreshTokenExpiresAt).toBe(first.refreshTokenExpiresAt);
      deps.clock.advance(86_400_000 + 1_000);
      await expect(deps.services.auth.refresh(rotated.refreshToken, META)).rejects.toMatchObject({
        code: "UNAUTHORIZED",
      });
      await expectUnauthorized(deps.services.auth.verifyAccessToken(rotated.accessToken));
    });
  });

  describe("a sign-in racing a password change", () => {
    it("makes no session when the password it checked is no longer the account's (the change's revocation could not see it)", async () => {
      const owner = await signUp(deps);
      const store = createSessionStore({ database: deps.database, clock: deps.clock, logger: deps.logger, refreshTokenTtlSeconds: 3600 });
      const [before] = await deps.database.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, owner.user.id));
      if (!before) throw new Error("no user row");
      // The login verified `before`; the change commits and revokes before the login's session is written.
      const session = await deps.services.auth.verifyAccessToken(owner.accessToken);
      await deps.services.auth.changePassword(session, { currentPassword: PASSWORD, newPassword: "a whole new passphrase" }, META);
      const count = async (): Promise<number> => (await deps.database.db.select().from(sessions).where(eq(sessions.userId, owner.user.id))).length;
      const sessionsBefore = await count();
      expect(await store.startSignedIn(owner.user.id, META, before.passwordHash)).toBeNull();
      expect(await count()).toBe(sessionsBefore);
      // With the hash the account has now, the session is made.
      const [now] = await deps.database.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, owner.user.id));
      expect(await store.startSignedIn(owner.user.id, META, now?.passwordHash ?? "")).toMatchObject({ userId: owner.user.id });
      expect(await count()).toBe(sessionsBefore + 1);
    });
  });

  describe("expired sessions", () => {
    it("are purged with their refresh tokens, and live ones are kept", async () => {
      const owner = await signUp(deps);
      const store = (ttlSeconds: number) =>
        createSessionStore({ database: deps.database, clock: deps.clock, logger: deps.logger, refreshTokenTtlSeconds: ttlSeconds });
      const [shortLived, longLived] = [store(300), store(86_400)];
      const expiring = await shortLived.start(owner.user.id, META);
      const rotated = await shortLived.rotate(expiring.refreshToken, META);
      expect(rotated.outcome).toBe("rotated");
      const live = await longLived.start(owner.user.id, META);

      deps.clock.advance(301_000);
      expect(await shortLived.purgeExpired()).toBeGreaterThanOrEqual(1);
      const rowsOf = async (sessionId: string) => ({
        sessions: await deps.database.db.select().from(sessions).where(eq(sessions.id, sessionId)),
        tokens: await deps.database.db.select().from(refreshTokens).where(eq(refreshTokens.sessionId, sessionId)),
      });
      expect(await rowsOf(expiring.sessionId)).toEqual({ sessions: [], tokens: [] });
      expect((await rowsOf(live.sessionId)).tokens).toHaveLength(1);
      await expect(longLived.get(live.sessionId)).resolves.toEqual({ userId: owner.user.id, expiresAt: live.expiresAt });
    });
  });

  describe("logout", () => {
    it("kills the session's access and refresh tokens at once and tells its sockets", async () => {
      const signedIn = await signUp(deps);
      const events = await deps.recordEvents({ userId: signedIn.user.id });
      const session = await deps.services.auth.verifyAccessToken(signedIn.accessToken);

      await deps.services.auth.logout({ session });

      await expectUnauthorized(deps.services.auth.verifyAccessToken(signedIn.accessToken));
      await expect(deps.services.auth.refresh(signedIn.refreshToken, META)).rejects.toMatchObject({
        code: "UNAUTHORIZED",
      });
      await settle();
      expect(events).toEqual([{ type: "session.revoked", sessionId: session.sessionId }]);
    });

    it("accepts the refresh token instead, and leaves the user's other sessions alone", async () => {
      const signedIn = await signUp(deps);
      const other = await deps.services.auth.login({ login: signedIn.user.username, password: PASSWORD, refreshTokenIn: "body" }, META);

      await deps.services.auth.logout({ refreshToken: signedIn.refreshToken });

      await expectUnauthorized(deps.services.auth.verifyAccessToken(signedIn.accessToken));
      await expect(deps.services.auth.verifyAccessToken(other.accessToken)).resolves.toMatchObject({
        userId: signedIn.user.id,
      });
    });

    it("is idempotent", async () => {
      const signedIn = await signUp(deps);
      const session = await deps.services.auth.verifyAccessToken(signedIn.accessToken);
      await deps.services.auth.logout({ session });
      await deps.services.auth.logout({ session });
      await deps.services.auth.logout({ refreshToken: signedIn.refreshToken });
      await deps.services.auth.logout({ refreshToken: "B".repeat(43) });
    });
  });

  describe("websocket tickets", () => {
    let signedIn: IssuedTokens;
    beforeEach(async () => {
      signedIn = await signUp(deps);
    });
    const session = (): ReturnType<TestDeps["services"]["auth"]["verifyAccessToken"]> =>
      deps.services.auth.verifyAccessToken(signedIn.accessToken);

    it("carry the user, the session and the resume map, and redeem once", async () => {
      const roomId = crypto.randomUUID();
      const { ticket, expiresAt } = await deps.services.auth.issueWsTicket(await session(), { [roomId]: { seq: 41, epoch: 7 } });
      expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 random bits
      expect(new Date(expiresAt).getTime() - deps.clock.now().getTime()).toBeLessThanOrEqual(30_000);

      await expect(deps.services.auth.redeemWsTicket(ticket)).resolves.toEqual({
        ...(await session()),
        resume: { [roomId]: { seq: 41, epoch: 7 } },
      });
      await expect(deps.services.auth.redeemWsTicket(ticket)).resolves.toBeNull();
    });

    it("carry no resume map when none was given", async () => {
      const { ticket } = await deps.services.auth.issueWsTicket(await session(), undefined);
      await expect(deps.services.auth.redeemWsTicket(ticket)).resolves.toMatchObject({ resume: null });
    });

    it("expire after 30 seconds", async () => {
      const { ticket } = await deps.services.auth.issueWsTicket(await session(), undefined);
      deps.clock.advance(30_000);
      await expect(deps.services.auth.redeemWsTicket(ticket)).resolves.toBeNull();
    });

    it("let exactly one of 20 concurrent redeems win", async () => {
      const { ticket } = await deps.services.auth.issueWsTicket(await session(), undefined);
      const claims = await Promise.all(Array.from({ length: 20 }, () => deps.services.auth.redeemWsTicket(ticket)));
      expect(claims.filter((claim) => claim !== null)).toHaveLength(1);
    });

    it("are worthless once their session has ended", async () => {
      const other = await signUp(deps);
      const otherSession = await deps.services.auth.verifyAccessToken(other.accessToken);
      const { ticket } = await deps.services.auth.issueWsTicket(otherSession, undefined);
      await deps.services.auth.logout({ session: otherSession });
      await expect(deps.services.auth.redeemWsTicket(ticket)).resolves.toBeNull();
    });

    it("refuse unknown and malformed tickets", async () => {
      for (const ticket of ["C".repeat(43), "", "x", signedIn.refreshToken, signedIn.accessToken]) {
        await expect(deps.services.auth.redeemWsTicket(ticket)).resolves.toBeNull();
      }
    });
  });

  describeConcurrencyOn("memory", {
    deps: () => deps,
    kv: async (testDeps) => createMemoryKeyValueStore({ clock: testDeps.clock }),
  });

  const redisUrl = testRedisUrl();
  describe.skipIf(!redisUrl)("with Redis", () => {
    let client: Redis;
    const prefix = uniqueRedisPrefix();
    afterAll(async () => {
      if (!client) return;
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
      await client.quit();
    });
    describeConcurrencyOn("Redis", {
      deps: () => deps,
      kv: async (testDeps) => {
        client = await connectRedis({ url: redisUrl!, logger: testDeps.logger, name: "auth-test" });
        return createRedisKeyValueStore({ client, prefix });
      },
    });
  });

  it("answers socket tickets with a retryable UNAVAILABLE, not the store's own error, while their Redis is down", async () => {
    const redis = await startThrowawayRedis();
    const lines: { level: string; msg: string }[] = [];
    const logger = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line)) });
    const client = await connectRedis({ url: redis.url, logger: deps.logger, name: "auth-ticket-outage" });
    try {
      const auth = authServiceOn(deps, { kv: createRedisKeyValueStore({ client, prefix: uniqueRedisPrefix() }), logger });
      const session = await auth.verifyAccessToken((await signUp(deps, auth)).accessToken);
      const { ticket } = await auth.issueWsTicket(session, undefined);
      await redis.stop();

      for (const attempt of [auth.issueWsTicket(session, undefined), auth.redeemWsTicket(ticket), auth.issueWsTicket(session, undefined)]) {
        const error = await rejection(attempt);
        expect(error).toBeInstanceOf(DomainError);
        expect(error).toMatchObject({ code: "UNAVAILABLE", message: "socket tickets are unavailable right now; try again shortly" });
      }
      expect(lines.filter((line) => line.level === "warn").map((line) => line.msg)).toEqual([
        "ws ticket store unavailable: socket tickets are refused until it answers",
      ]);
      // Sessions do not live in Redis: signing in and refreshing go on.
      await expect(auth.verifyAccessToken((await signUp(deps, auth)).accessToken)).resolves.toHaveProperty("sessionId");
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });

  it("never logs a password, a token, a token hash or a ticket", async () => {
    const lines: string[] = [];
    const auth = authServiceOn(deps, { logger: createLogger({ level: "debug", write: (line) => lines.push(line) }) });
    const username = uniqueUsername("logs");
    const first = await auth.register(
      { email: `${username}@example.test`, username, password: PASSWORD, refreshTokenIn: "body" },
      META,
    );
    await rejection(auth.login({ login: username, password: "the wrong password", refreshTokenIn: "body" }, META));
    const second = await auth.refresh(first.refreshToken, META);
    const session = await auth.verifyAccessToken(second.accessToken);
    const { ticket } = await auth.issueWsTicket(session, undefined);
    await auth.redeemWsTicket(ticket);
    await rejection(auth.verifyAccessToken(`${second.accessToken}x`));
    deps.clock.advance(60_000);
    await rejection(auth.refresh(first.refreshToken, META)); // reuse: revokes, and logs it

    expect(lines.length).toBeGreaterThan(4);
    const log = lines.join("\n");
    const hashOf = (token: string): string => encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
    for (const secret of [
      PASSWORD,
      "the wrong password",
      first.accessToken,
      second.accessToken,
      first.refreshToken,
      second.refreshToken,
      hashOf(first.refreshToken),
      hashOf(second.refreshToken),
      ticket,
      hashOf(ticket),
      "$argon2id$",
      `${username}@example.test`,
    ]) {
      expect(log).not.toContain(secret);
    }
    expect(lines.map((line) => JSON.parse(line) as { msg: string }).map((line) => line.msg)).toEqual(
      expect.arrayContaining(["user registered", "login refused", "refresh token reused", "session revoked"]),
    );
  });
});
