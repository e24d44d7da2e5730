import { and, eq, isNull } from "drizzle-orm";
import type { BucketRule } from "../../config.ts";
import { type Database, isUniqueViolation } from "../../infra/db/database.ts";
import { users } from "../../infra/db/schema.ts";
import type { KeyValueStore } from "../../infra/kv/kv.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { ResumePositions } from "../room-log/room-log.schema.ts";
import type { EventPublisher } from "../events.ts";
import { type ProfileRow, profileColumns, toProfile } from "../users/user-profile.ts";
import type { UserProfile } from "../users/users.schema.ts";
import type {
  AuthSession,
  IssuedTokens,
  LoginInput,
  RegisterInput,
  RequestMeta,
  WsTicketClaims,
} from "./auth.schema.ts";
import { type AccountDeletion, createAccountDeletion } from "./account-deletion.ts";
import { type AccountSessions, createAccountSessions } from "./account-sessions.ts";
import { createAccessTokens } from "./access-tokens.ts";
import { hashPassword, verifyPassword } from "./password.ts";
import { addressKey } from "./address-key.ts";
import { createSessionStore, type SessionGrant } from "./sessions.ts";
import { createSessionCache } from "./session-cache.ts";
import { createWsTickets } from "./ws-tickets.ts";
import { type AccountEmail, createAccountEmail, issueVerification } from "../email/account-email.ts";

export interface AuthService extends AccountSessions, AccountDeletion, AccountEmail {
  /**
   * CONFLICT for a taken email or username; TOO_MANY_REQUESTS per IP. The verification email's token and job are
   * written in the same transaction as the account.
   */
  register(input: RegisterInput, meta: RequestMeta): Promise<IssuedTokens>;
  /**
   * UNAUTHORIZED with one message (and similar timing) for an unknown user and a wrong password;
   * TOO_MANY_REQUESTS per IP, and for failed logins per (account, address) and per account.
   */
  login(input: LoginInput, meta: RequestMeta): Promise<IssuedTokens>;
  /**
   * Rotates the refresh token. A reused token revokes its whole family (UNAUTHORIZED), except the immediately
   * previous one within a few seconds of its use (two tabs racing), which is refused with CONFLICT.
   */
  refresh(refreshToken: string, meta: RequestMeta): Promise<IssuedTokens>;
  /** Revokes the session (refresh family) and tells its sockets. Idempotent. */
  logout(target: { refreshToken: string } | { session: AuthSession }): Promise<void>;
  /** Verifies an access token: signature, alg, iss, aud, typ, exp — and that its session is still alive. */
  verifyAccessToken(token: string): Promise<AuthSession>;
  me(session: AuthSession): Promise<UserProfile>;
  /** A one-time ticket (≥128 bits, ≤30 s) for the WebSocket upgrade. UNAVAILABLE when the ticket store is down. */
  issueWsTicket(
    session: AuthSession,
    resume: ResumePositions | undefined,
  ): Promise<{ ticket: string; expiresAt: string }>;
  /** Consumes the ticket atomically; null when unknown, expired or already used. UNAVAILABLE when its store is down. */
  redeemWsTicket(ticket: string): Promise<WsTicketClaims | null>;
  /** Another instance revoked this session (the bus said so): forget what this one cached about it. */
  sessionRevokedElsewhere(sessionId: string): void;
  /**
   * Whether revocations from other instances reach this one (the bus is up). While they do not, every session is
   * read from the database: a cached one might have been revoked unseen.
   */
  revocationsReachUs(reach: boolean): void;
}

export interface AuthServiceDeps {
  /** Users, and sessions with their refresh tokens (tables `sessions`, `refresh_tokens`). */
  database: Database;
  /** One-time socket tickets (30 s): Redis when configured, else process memory. */
  ticketKv: KeyValueStore;
  rateLimiter: RateLimiter;
  events: EventPublisher;
  clock: Clock;
  logger: Logger;
  jwt: { secret: string; issuer: string; audience: string; accessTokenTtlSeconds: number };
  refreshTokenTtlSeconds: number;
  rateLimits: AuthRateLimits;
  /** Takes a deleted account out of every room (rooms/account-departure.ts). */
  leaveEveryRoom(userId: string): Promise<{ failed: number }>;
}

export interface AuthRateLimits {
  /** Registrations and logins, successful or not, per client address. */
  authPerIp: BucketRule;
  /** Failed logins per (account, client address): the limit an attacker at one address meets. */
  authPerAccountIp: BucketRule;
  /** Failed logins per account from all addresses together: the backstop against many addresses. */
  authPerAccount: BucketRule;
  /** Socket tickets per user: each is one (re)connect. */
  wsTicketPerUser: BucketRule;
  /** Emails a signed-in user causes: resendVerification, changeEmail. */
  emailPerUser: BucketRule;
  /** requestPasswordReset per email address asked about (per client address it is authPerIp). */
  passwordResetPerEmail: BucketRule;
}

/**
 * A hash of a random, forgotten password with the same parameters as real ones: a login for an unknown account
 * verifies against it, so it costs the same Argon2 time as a wrong password and cannot be told apart by timing.
 */
const DUMMY_PASSWORD_HASH = "$argon2id$v=19$m=19456,t=2,p=1$kfpJOZDuWsBXKyuZEbRdcg$0uQvt7gB9MUxYmtii/g1n7o1aGJseCFHokW/1Vg2nCQ";

/**
 * A session this instance verified stays trusted this long without another database read — or until any instance
 * revokes it (broadcast), or the bus that carries revocations goes down. Bounded, oldest first.
 */
const SESSION_CACHE_TTL_MS = 30_000;
const SESSION_CACHE_MAX_ENTRIES = 100_000;

/** One message per failure kind, whatever the detail: the detail goes to the log, never to the client. */
const WRONG_CREDENTIALS = "wrong login or password";
const BAD_ACCESS_TOKEN = "invalid or expired access token";
const BAD_REFRESH_TOKEN = "invalid or expired refresh token";
const RACING_REFRESH = "this refresh token was just rotated by a concurrent refresh; retry with the current one";

/** A limit charged for one attempt: the bucket family (for the log) and its key. */
interface Charge {
  bucket: "auth-ip" | "auth-account-ip" | "auth-account" | "ws-ticket" | "email-user" | "reset-email";
  key: string;
  rule: BucketRule;
}

/** How a login string finds its account: emails as the Email schema stores them, usernames NFKC + case-folded. */
function normaliseLogin(login: string): { by: "email" | "username"; value: string } {
  return login.includes("@")
    ? { by: "email", value: login.trim().toLowerCase() }
    : { by: "username", value: login.normalize("NFKC").toLowerCase().trim() };
}

export function createAuthService(deps: AuthServiceDeps): AuthService {
  const { database, rateLimiter, events, clock, logger } = deps;
  const accessTokens = createAccessTokens(deps.jwt, clock);
  const sessions = createSessionStore({ database, clock, logger, refreshTokenTtlSeconds: deps.refreshTokenTtlSeconds });
  const wsTickets = createWsTickets({ kv: deps.ticketKv, clock, logger });
  const sessionCache = createSessionCache({ clock, ttlMs: SESSION_CACHE_TTL_MS, maxEntries: SESSION_CACHE_MAX_ENTRIES });

  /**
   * Takes one token from each bucket, narrowest first, or none: a refusal gives back what was taken, so a bucket
   * that refuses never drains the wider ones behind it (an attacker stopped at their address spends nothing of the
   * account's allowance).
   */
  const charge = async (charges: Charge[]): Promise<void> => {
    for (const [index, { bucket, key, rule }] of charges.entries()) {
      const decision = await rateLimiter.consume(`${bucket}:${key}`, rule);
      if (decision.allowed) continue;
      await refund(charges.slice(0, index));
      // The key (an address, an email) stays out of the log; the bucket says which limit it was.
      logger.warn("auth rate limit hit", { bucket, retryAfterSeconds: decision.retryAfterSeconds });
      throw new DomainError("TOO_MANY_REQUESTS", "too many attempts, try again later", decision.retryAfterSeconds);
    }
  };
  const refund = async (charges: Charge[]): Promise<void> => {
    for (const { bucket, key, rule } of charges) await rateLimiter.refund(`${bucket}:${key}`, rule);
  };
  // No address (an in-process call, a runtime that cannot tell): only the per-account bucket applies to logins.
  const perIp = (meta: RequestMeta): Charge[] =>
    meta.ip === null ? [] : [{ bucket: "auth-ip", key: addressKey(meta.ip), rule: deps.rateLimits.authPerIp }];
  const failedLoginCharges = (account: string, meta: RequestMeta): Charge[] => [
    ...(meta.ip === null
      ? []
      : [{ bucket: "auth-account-ip" as const, key: `${account}|${addressKey(meta.ip)}`, rule: deps.rateLimits.authPerAccountIp }]),
    { bucket: "auth-account", key: account, rule: deps.rateLimits.authPerAccount },
  ];

  const findProfile = async (userId: string): Promise<UserProfile | null> => {
    // A deleted account is no profile: its refresh tokens die with it even if a revocation was missed.
    const [row] = await database.db
      .select(profileColumns)
      .from(users)
      .where(and(eq(users.id, userId), isNull(users.deletedAt)))
      .limit(1);
    return row ? toProfile(row, clock.now()) : null;
  };

  const issueTokens = async (user: UserProfile, session: SessionGrant): Promise<IssuedTokens> => {
    const access = await accessTokens.issue({ userId: user.id, sessionId: session.sessionId });
    return {
      user,
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt.toISOString(),
      refreshToken: session.refreshToken,
      refreshTokenExpiresAt: session.expiresAt.toISOString(),
    };
  };

  /** Live sessions, read through the cache (see session-cache.ts for why that is safe). */
  const liveSession = async (sessionId: string): Promise<{ userId: string } | null> => {
    const cached = sessionCache.get(sessionId);
    if (cached) return cached;
    const revocationsAtStart = sessionCache.revocations();
    const session = await sessions.get(sessionId);
    if (session) sessionCache.remember(sessionId, session, revocationsAtStart);
    return session;
  };

  /** The store has revoked the family; now every cache and socket must hear of it. */
  const announceRevoked = async (family: { sessionId: string; userId: string }, reason: string): Promise<void> => {
    sessionCache.forget(family.sessionId);
    logger.info("session revoked", { userId: family.userId, sessionId: family.sessionId, reason });
    // Every instance forgets it (their session caches); a failure fails the call, which the caller may retry.
    await events.toInstances({ type: "session.revoked", sessionId: family.sessionId });
    // The family is already dead for every HTTP call; this closes its sockets. A failure here is reported to the
    // caller, who may retry: revoking again is harmless and publishes again.
    await events.toUser(family.userId, { type: "session.revoked", sessionId: family.sessionId });
  };
  const revokeSession = async (family: { sessionId: string; userId: string }, reason: string): Promise<void> => {
    await sessions.revoke(family.sessionId);
    await announceRevoked(family, reason);
  };

  const limitPasswordCheck = async (userId: string, meta: RequestMeta, check: () => Promise<boolean>): Promise<boolean> => {
    // The same buckets as failed logins: a stolen access token is no way around the login limits.
    const failure = failedLoginCharges(`user:${userId}`, meta);
    await charge(failure);
    const passed = await check();
    if (passed) await refund(failure);
    return passed;
  };

  const accountSessions = createAccountSessions({
    database,
    sessions,
    logger,
    announceRevoked,
    limitPasswordCheck,
  });
  const accountDeletion = createAccountDeletion({
    database,
    sessions,
    events,
    clock,
    logger,
    announceRevoked,
    limitPasswordCheck,
    leaveEveryRoom: deps.leaveEveryRoom,
  });

  const accountEmail = createAccountEmail({
    database,
    sessions,
    clock,
    logger,
    announceRevoked,
    limitPasswordCheck,
    limits: {
      perIp: (meta) => charge(perIp(meta)),
      emailsOf: (userId) => charge([{ bucket: "email-user", key: userId, rule: deps.rateLimits.emailPerUser }]),
      resetsFor: (email) => charge([{ bucket: "reset-email", key: email, rule: deps.rateLimits.passwordResetPerEmail }]),
    },
  });

  return {
    ...accountSessions,
    ...accountEmail,

    async deleteAccount(session, input, meta) {
      // Like a sign-in: charged to the caller's address whatever the outcome.
      await charge(perIp(meta));
      return accountDeletion.deleteAccount(session, input, meta);
    },

    async register(input, meta) {
      await charge(perIp(meta));
      // The schema already normalised it; doing it here too keeps the stored hash NFKC whoever calls.
      const passwordHash = await hashPassword(input.password.normalize("NFKC"));
      let row: ProfileRow | undefined;
      try {
        row = await database.db.transaction(async (tx) => {
          const [inserted] = await tx
            .insert(users)
            .values({
              email: input.email,
              username: input.username,
              displayName: input.displayName ?? input.username,
              passwordHash,
            })
            .returning(profileColumns);
          if (inserted) await issueVerification(tx, inserted, clock.now());
          return inserted;
        });
      } catch (error) {
        // The unique indexes decide, so two racing registrations cannot both pass a check-then-insert.
        if (isUniqueViolation(error)) throw new DomainError("CONFLICT", "that email or username is already taken");
        throw error;
      }
      if (!row) throw new Error("user insert returned no row");
      const user = toProfile(row, clock.now());
      const session = await sessions.start(user.id, meta);
      logger.info("user registered", { userId: user.id, sessionId: session.sessionId });
      return issueTokens(user, session);
    },

    async login(input, meta) {
      await charge(perIp(meta));
      const login = normaliseLogin(input.login);
      const [row] = await database.db
        .select({ ...profileColumns, passwordHash: users.passwordHash })
        .from(users)
        .where(and(login.by === "email" ? eq(users.email, login.value) : eq(users.username, login.value), isNull(users.deletedAt)))
        .limit(1);
      // Failures count against the account whichever spelling found it; an unknown login by its normalised string.
      // Every attempt is charged as a failure before the password is checked (so parallel guesses cannot all slip
      // through one check), and a success gets its charge back.
      const failure = failedLoginCharges(row ? `user:${row.id}` : `${login.by}:${login.value}`, meta);
      await charge(failure);
      const passwordMatches = await verifyPassword(row?.passwordHash ?? DUMMY_PASSWORD_HASH, input.password.normalize("NFKC"));
      if (!row || !passwordMatches) {
        logger.info("login refused", { reason: row ? "wrong-password" : "unknown-account", userId: row?.id ?? null });
        throw new DomainError("UNAUTHORIZED", WRONG_CREDENTIALS);
      }
      const user = toProfile(row, clock.now());
      const session = await sessions.startSignedIn(user.id, meta, row.passwordHash);
      if (!session) {
        // The password changed (or the account went) while this login checked the old one.
        logger.info("login refused", { reason: "password-changed", userId: row.id });
        throw new DomainError("UNAUTHORIZED", WRONG_CREDENTIALS);
      }
      await refund(failure);
      logger.info("user logged in", { userId: user.id, sessionId: session.sessionId });
      return issueTokens(user, session);
    },

    async refresh(refreshToken, meta) {
      const rotation = await sessions.rotate(refreshToken, meta);
      if (rotation.outcome === "refused") {
        logger.info("refresh refused", { reason: rotation.reason });
        // A second tab presented the token the first just rotated: nothing is wrong, and the browser's jar
        // already holds the successor, so the client may simply retry.
        if (rotation.reason === "racing") throw new DomainError("CONFLICT", RACING_REFRESH);
        throw new DomainError("UNAUTHORIZED", BAD_REFRESH_TOKEN);
      }
      if (rotation.outcome === "reused") {
        logger.warn("refresh token reused", {
          userId: rotation.userId,
          sessionId: rotation.sessionId,
          generation: rotation.generation,
        });
        await revokeSession(rotation, "refresh-token-reuse");
        throw new DomainError("UNAUTHORIZED", BAD_REFRESH_TOKEN);
      }
      const user = await findProfile(rotation.userId);
      if (!user) {
        await revokeSession(rotation, "user-gone");
        throw new DomainError("UNAUTHORIZED", BAD_REFRESH_TOKEN);
      }
      return issueTokens(user, rotation);
    },

    async logout(target) {
      const family = "refreshToken" in target ? await sessions.familyOf(target.refreshToken) : target.session;
      // An unknown or expired refresh token has no session left to end.
      if (!family) return;
      await revokeSession(family, "logout");
    },

    async verifyAccessToken(token) {
      const check = await accessTokens.check(token);
      if (!check.valid) {
        logger.debug("access token refused", { reason: check.reason });
        throw new DomainError("UNAUTHORIZED", BAD_ACCESS_TOKEN);
      }
      // A well-signed token outlives its session only until this check: logout takes effect at once.
      const session = await liveSession(check.session.sessionId);
      if (!session || session.userId !== check.session.userId) {
        logger.debug("access token refused", { reason: "session-ended", sessionId: check.session.sessionId });
        throw new DomainError("UNAUTHORIZED", BAD_ACCESS_TOKEN);
      }
      return check.session;
    },

    async me(session) {
      const user = await findProfile(session.userId);
      if (!user) throw new DomainError("UNAUTHORIZED", BAD_ACCESS_TOKEN);
      return user;
    },

    async issueWsTicket(session, resume) {
      // A ticket is one (re)connect: this bounds how fast one user can open sockets, whatever the client does.
      await charge([{ bucket: "ws-ticket", key: session.userId, rule: deps.rateLimits.wsTicketPerUser }]);
      const { ticket, expiresAt } = await wsTickets.issue(session, resume);
      logger.debug("ws ticket issued", { userId: session.userId, sessionId: session.sessionId });
      return { ticket, expiresAt: expiresAt.toISOString() };
    },

    async redeemWsTicket(ticket) {
      const claims = await wsTickets.redeem(ticket);
      if (!claims) return null;
      // A ticket minted just before a logout must not open a socket after it.
      const session = await liveSession(claims.sessionId);
      return session && session.userId === claims.userId ? claims : null;
    },

    sessionRevokedElsewhere(sessionId) {
      sessionCache.forget(sessionId);
    },

    revocationsReachUs(reach) {
      sessionCache.trust(reach);
    },
  };
}
