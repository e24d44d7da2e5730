import { and, desc, eq, gt, inArray, isNull, lte, ne, sql } from "drizzle-orm";
import type { Database, Db } from "../../infra/db/database.ts";
import { refreshTokens, sessions, users } from "../../infra/db/schema.ts";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/logger.ts";
import type { RequestMeta } from "./auth.schema.ts";
import { hashOpaqueToken, newOpaqueToken, OPAQUE_TOKEN_PATTERN } from "./opaque-token.ts";

/**
 * Two tabs refreshing with the same cookie: the loser presents the token the winner consumed a moment ago.
 * Within this window that token (and only the immediately previous one) is refused without revoking the family.
 */
export const RACING_REFRESH_GRACE_MS = 5_000;

/** Expired sessions (and, by cascade, their refresh tokens) are deleted this often, a batch at a time. */
const PURGE_EVERY_MS = 5 * 60_000;
const PURGE_BATCH = 500;
const PURGE_MAX_BATCHES = 20;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A session that can issue tokens: its refresh token is handed to the client once and stored only as a hash. */
export interface SessionGrant {
  sessionId: string;
  userId: string;
  /** Absolute: no rotation moves it. */
  expiresAt: Date;
  refreshToken: string;
}

/** A live session as its owner sees it in "your sessions". */
export interface LiveSession {
  sessionId: string;
  userAgent: string | null;
  ip: string | null;
  createdAt: Date;
  lastUsedAt: Date;
}

export type RotateOutcome =
  | ({ outcome: "rotated" } & SessionGrant)
  /** Refused, nothing else to do: unknown, expired, already revoked, or the loser of a race between tabs. */
  | { outcome: "refused"; reason: "unknown" | "expired" | "revoked" | "racing" }
  /** A consumed token came back (or the family is inconsistent): the caller must revoke the whole family. */
  | { outcome: "reused"; sessionId: string; userId: string; generation: number };

export interface SessionStore {
  /** A new session (registration). */
  start(userId: string, meta: RequestMeta): Promise<SessionGrant>;
  /**
   * A new session for a login that just verified `passwordHash`: made only if the account still has that hash and
   * is not deleted — read under a share lock on the user's row — else null. A login racing a password change or an
   * account deletion so never outlives the revocation they make.
   */
  startSignedIn(userId: string, meta: RequestMeta, passwordHash: string): Promise<SessionGrant | null>;
  /** Consumes `refreshToken` and issues its successor, atomically: of concurrent callers exactly one rotates. */
  rotate(refreshToken: string, meta: RequestMeta): Promise<RotateOutcome>;
  /** The live session's user and absolute expiry, or null when unknown, revoked or past that expiry. */
  get(sessionId: string): Promise<{ userId: string; expiresAt: Date } | null>;
  /** The family a refresh token belongs to, whether it is the live token or an already consumed one. */
  familyOf(refreshToken: string): Promise<{ sessionId: string; userId: string } | null>;
  /** Ends the family: its refresh tokens and access tokens stop working at once. Idempotent. */
  revoke(sessionId: string): Promise<void>;
  /** The user's live sessions (not revoked, not expired), most recently used first. */
  listLive(userId: string): Promise<LiveSession[]>;
  /**
   * Revokes the session only if it is live and `userId`'s; resolves with whether it did. Someone else's session and
   * an unknown one look the same to the caller.
   */
  revokeOwned(userId: string, sessionId: string): Promise<boolean>;
  /** Revokes every live session of the user but `keepSessionId`, in one statement; resolves with the revoked ids. */
  revokeAllBut(userId: string, keepSessionId: string): Promise<string[]>;
  /** Deletes sessions past their expiry, with their refresh tokens; resolves with how many. Runs every 5 minutes. */
  purgeExpired(): Promise<number>;
}

/**
 * Sessions and refresh tokens in the `sessions` and `refresh_tokens` tables (the database is the truth: neither a
 * restart nor a Redis restart signs anyone out). Times come from `clock`, passed as parameters, never `now()`.
 */
export function createSessionStore(deps: {
  database: Database;
  clock: Clock;
  logger: Logger;
  /** Absolute session lifetime: rotation never extends it. */
  refreshTokenTtlSeconds: number;
}): SessionStore {
  const { db } = deps.database;
  const { clock } = deps;

  const issueRefreshToken = async (tx: Db, sessionId: string, generation: number, now: Date): Promise<string> => {
    const token = newOpaqueToken();
    await tx.insert(refreshTokens).values({ tokenHash: hashOpaqueToken(token), sessionId, generation, createdAt: now });
    return token;
  };

  /** A token that was not live when we tried to consume it: the committed state says why. */
  const judgeNotLive = async (tx: Db, tokenHash: string, now: Date): Promise<RotateOutcome> => {
    const [token] = await tx
      .select({
        sessionId: refreshTokens.sessionId,
        generation: refreshTokens.generation,
        usedAt: refreshTokens.usedAt,
        userId: sessions.userId,
        liveGeneration: sessions.generation,
        expiresAt: sessions.expiresAt,
        revokedAt: sessions.revokedAt,
      })
      .from(refreshTokens)
      .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
      .where(eq(refreshTokens.tokenHash, tokenHash));
    if (!token) return { outcome: "refused", reason: "unknown" };
    if (token.revokedAt !== null) return { outcome: "refused", reason: "revoked" };
    if (token.expiresAt <= now) return { outcome: "refused", reason: "expired" };
    // The winner's commit (successor and used_at together) is visible here: the previous token is one generation behind.
    const justConsumed = token.generation === token.liveGeneration - 1;
    const withinGrace = token.usedAt !== null && now.getTime() - token.usedAt.getTime() <= RACING_REFRESH_GRACE_MS;
    if (justConsumed && withinGrace) return { outcome: "refused", reason: "racing" };
    return { outcome: "reused", sessionId: token.sessionId, userId: token.userId, generation: token.generation };
  };

  /** Small batches, so a backlog never becomes one long delete holding locks; the rest waits for the next run. */
  const purgeExpired = async (): Promise<number> => {
    let purged = 0;
    for (let batch = 0; batch < PURGE_MAX_BATCHES; batch++) {
      const expired = db.select({ id: sessions.id }).from(sessions).where(lte(sessions.expiresAt, clock.now())).limit(PURGE_BATCH);
      const deleted = await db.delete(sessions).where(inArray(sessions.id, expired)).returning({ id: sessions.id });
      purged += deleted.length;
      if (deleted.length < PURGE_BATCH) break;
    }
    return purged;
  };
  const timer = setInterval(() => {
    // Expired sessions are already refused by every read, so a failed sweep loses nothing: the next one retries.
    purgeExpired().catch((error: unknown) => deps.logger.warn("expired sessions not purged", { error }));
  }, PURGE_EVERY_MS);
  timer.unref?.(); // housekeeping must not keep the process (or a test run) alive

  async function insertSession(tx: Db, userId: string, meta: RequestMeta): Promise<SessionGrant> {
    const now = clock.now();
    const expiresAt = new Date(now.getTime() + deps.refreshTokenTtlSeconds * 1000);
    const [session] = await tx
      .insert(sessions)
      .values({ userId, createdAt: now, lastUsedAt: now, expiresAt, userAgent: meta.userAgent, ip: meta.ip })
      .returning({ id: sessions.id });
    if (!session) throw new Error("session insert returned no row");
    return { sessionId: session.id, userId, expiresAt, refreshToken: await issueRefreshToken(tx, session.id, 0, now) };
  }

  return {
    start(userId, meta) {
      return db.transaction((tx) => insertSession(tx, userId, meta));
    },

    startSignedIn(userId, meta, passwordHash) {
      return db.transaction(async (tx) => {
        // changePassword writes the hash before revoking the other sessions (deleteAccount revokes again once the
        // row is a tombstone): holding the row shared until this commits puts the new session either before that
        // write (so the revocation after it ends the session) or after it (so the session is not made).
        const [account] = await tx
          .select({ passwordHash: users.passwordHash, deletedAt: users.deletedAt })
          .from(users)
          .where(eq(users.id, userId))
          .for("share");
        if (!account || account.deletedAt !== null || account.passwordHash !== passwordHash) return null;
        return insertSession(tx, userId, meta);
      });
    },

    async rotate(refreshToken, meta) {
      if (!OPAQUE_TOKEN_PATTERN.test(refreshToken)) return { outcome: "refused", reason: "unknown" };
      const tokenHash = hashOpaqueToken(refreshToken);
      const now = clock.now();
      return db.transaction(async (tx): Promise<RotateOutcome> => {
        // The decision: the row lock makes concurrent rotations of one token queue here, and once the first commits
        // the others match nothing (used_at is set) and go on to see its committed successor.
        const [consumed] = await tx
          .update(refreshTokens)
          .set({ usedAt: now })
          .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.usedAt)))
          .returning({ sessionId: refreshTokens.sessionId, generation: refreshTokens.generation });
        if (!consumed) return judgeNotLive(tx, tokenHash, now);

        // Same lock order as revoke (the session row), so a logout racing this rotation is either seen or sees it.
        const [session] = await tx
          .update(sessions)
          .set({
            generation: sql`${sessions.generation} + 1`,
            lastUsedAt: now,
            // The session remembers where it was last used from (for "your sessions").
            ...(meta.userAgent !== null ? { userAgent: meta.userAgent } : {}),
            ...(meta.ip !== null ? { ip: meta.ip } : {}),
          })
          .where(
            and(
              eq(sessions.id, consumed.sessionId),
              eq(sessions.generation, consumed.generation),
              isNull(sessions.revokedAt),
              gt(sessions.expiresAt, now),
            ),
          )
          .returning({ userId: sessions.userId, generation: sessions.generation, expiresAt: sessions.expiresAt });
        if (!session) return judgeNotLive(tx, tokenHash, now);
        const successor = await issueRefreshToken(tx, consumed.sessionId, session.generation, now);
        return {
          outcome: "rotated",
          sessionId: consumed.sessionId,
          userId: session.userId,
          expiresAt: session.expiresAt,
          refreshToken: successor,
        };
      });
    },

    async get(sessionId) {
      if (!UUID.test(sessionId)) return null; // not a session id we issued; and not a query error either
      const [session] = await db
        .select({ userId: sessions.userId, expiresAt: sessions.expiresAt })
        .from(sessions)
        .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, clock.now())));
      return session ?? null;
    },

    async familyOf(refreshToken) {
      if (!OPAQUE_TOKEN_PATTERN.test(refreshToken)) return null;
      const [family] = await db
        .select({ sessionId: refreshTokens.sessionId, userId: sessions.userId })
        .from(refreshTokens)
        .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
        .where(eq(refreshTokens.tokenHash, hashOpaqueToken(refreshToken)));
      return family ?? null;
    },

    async revoke(sessionId) {
      if (!UUID.test(sessionId)) return;
      await db
        .update(sessions)
        .set({ revokedAt: clock.now() })
        .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
    },

    async listLive(userId) {
      return db
        .select({
          sessionId: sessions.id,
          userAgent: sessions.userAgent,
          ip: sessions.ip,
          createdAt: sessions.createdAt,
          lastUsedAt: sessions.lastUsedAt,
        })
        .from(sessions)
        .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, clock.now())))
        .orderBy(desc(sessions.lastUsedAt), desc(sessions.createdAt), desc(sessions.id));
    },

    async revokeOwned(userId, sessionId) {
      if (!UUID.test(sessionId)) return false;
      const now = clock.now();
      const revoked = await db
        .update(sessions)
        .set({ revokedAt: now })
        .where(
          and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)),
        )
        .returning({ id: sessions.id });
      return revoked.length > 0;
    },

    async revokeAllBut(userId, keepSessionId) {
      const now = clock.now();
      const revoked = await db
        .update(sessions)
        .set({ revokedAt: now })
        .where(
          and(
            eq(sessions.userId, userId),
            // The caller's session id came from a verified token, but a malformed one must not reach the uuid column.
            ...(UUID.test(keepSessionId) ? [ne(sessions.id, keepSessionId)] : []),
            isNull(sessions.revokedAt),
            gt(sessions.expiresAt, now),
          ),
        )
        .returning({ id: sessions.id });
      return revoked.map(({ id }) => id);
    },

    purgeExpired,
  };
}
