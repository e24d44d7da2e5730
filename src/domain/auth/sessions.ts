import { z } from "zod";
import type { KeyValueStore } from "../../infra/kv/kv.ts";
import type { Clock } from "../../lib/clock.ts";
import type { RequestMeta } from "./auth.schema.ts";
import { hashOpaqueToken, newOpaqueToken, OPAQUE_TOKEN_PATTERN, secondsUntil } from "./opaque-token.ts";
import { readStoredRecord } from "./stored-record.ts";

/**
 * Sessions are refresh-token families, kept in the KV port:
 *
 *   auth:session:{sessionId}          the family: user, absolute expiry, current generation (deleted on revoke)
 *   auth:session-revoked:{sessionId}  tombstone, so a rotation racing a logout cannot bring the family back
 *   auth:refresh:{sha256(token)}      the one live refresh token of a family; consumed with `take`
 *   auth:refresh-used:{sha256(token)} marker left by a consumed token, to recognise its reuse
 *
 * Every key expires with the family's absolute lifetime. Tokens are stored only as SHA-256 hashes.
 */
const sessionKey = (sessionId: string): string => `auth:session:${sessionId}`;
const revokedKey = (sessionId: string): string => `auth:session-revoked:${sessionId}`;
const refreshKey = (tokenHash: string): string => `auth:refresh:${tokenHash}`;
const usedKey = (tokenHash: string): string => `auth:refresh-used:${tokenHash}`;

/**
 * Two tabs refreshing with the same cookie: the loser presents the token the winner consumed a moment ago.
 * Within this window that token (and only the immediately previous one) is refused without revoking the family.
 */
export const RACING_REFRESH_GRACE_MS = 5_000;

const SessionRecord = z.object({
  userId: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  generation: z.number().int().min(0),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
});
export type SessionRecord = z.infer<typeof SessionRecord>;

const RefreshRecord = z.object({
  sessionId: z.string(),
  userId: z.string(),
  generation: z.number().int().min(0),
  expiresAt: z.number(),
});

const UsedMarker = z.object({
  sessionId: z.string(),
  userId: z.string(),
  generation: z.number().int().min(0),
  usedAt: z.number(),
});

export interface StartedSession {
  sessionId: string;
  session: SessionRecord;
  refreshToken: string;
}

export type RotateOutcome =
  | { outcome: "rotated"; sessionId: string; session: SessionRecord; refreshToken: string }
  /** Refused, nothing else to do: unknown, expired, already revoked, or the loser of a race between tabs. */
  | { outcome: "refused"; reason: "unknown" | "expired" | "revoked" | "racing" }
  /** A consumed token came back (or the family is inconsistent): the caller must revoke the whole family. */
  | { outcome: "reused"; sessionId: string; userId: string; generation: number };

export interface SessionStore {
  start(userId: string, meta: RequestMeta): Promise<StartedSession>;
  /** Consumes `refreshToken` (atomically: of concurrent callers at most one rotates) and issues its successor. */
  rotate(refreshToken: string, meta: RequestMeta): Promise<RotateOutcome>;
  /** The live session, or null when revoked or past its absolute expiry. */
  get(sessionId: string): Promise<SessionRecord | null>;
  /** The family a refresh token belongs to, whether it is the live token or an already consumed one. */
  familyOf(refreshToken: string): Promise<{ sessionId: string; userId: string } | null>;
  /** Deletes the family; its refresh tokens and access tokens stop working at once. Idempotent. */
  revoke(sessionId: string): Promise<void>;
}

export function createSessionStore(deps: {
  kv: KeyValueStore;
  clock: Clock;
  /** Absolute session lifetime: rotation never extends it. */
  refreshTokenTtlSeconds: number;
}): SessionStore {
  const { kv, clock } = deps;

  const load = async (sessionId: string): Promise<SessionRecord | null> => {
    const session = readStoredRecord(SessionRecord, await kv.get(sessionKey(sessionId)));
    return session && session.expiresAt > clock.now().getTime() ? session : null;
  };

  const storeRefreshToken = async (sessionId: string, session: SessionRecord): Promise<string> => {
    const token = newOpaqueToken();
    const record = { sessionId, userId: session.userId, generation: session.generation, expiresAt: session.expiresAt };
    await kv.set(refreshKey(hashOpaqueToken(token)), JSON.stringify(record), {
      ttlSeconds: secondsUntil(session.expiresAt, clock.now()),
    });
    return token;
  };

  /** A token that is not live: reuse of a consumed one revokes, unless it is the racing-tab case. */
  const judgeNotLive = async (tokenHash: string): Promise<RotateOutcome> => {
    const marker = readStoredRecord(UsedMarker, await kv.get(usedKey(tokenHash)));
    if (!marker) return { outcome: "refused", reason: "unknown" };
    const session = await load(marker.sessionId);
    if (!session) return { outcome: "refused", reason: "revoked" };
    // `generation` equal to the marker's means the winner is still mid-rotation; one more means it finished.
    const justConsumed = marker.generation === session.generation || marker.generation === session.generation - 1;
    const withinGrace = clock.now().getTime() - marker.usedAt <= RACING_REFRESH_GRACE_MS;
    if (justConsumed && withinGrace) return { outcome: "refused", reason: "racing" };
    return { outcome: "reused", sessionId: marker.sessionId, userId: marker.userId, generation: marker.generation };
  };

  return {
    async start(userId, meta) {
      const now = clock.now().getTime();
      const sessionId = crypto.randomUUID();
      const session: SessionRecord = {
        userId,
        createdAt: now,
        expiresAt: now + deps.refreshTokenTtlSeconds * 1000,
        generation: 0,
        userAgent: meta.userAgent,
        ip: meta.ip,
      };
      await kv.set(sessionKey(sessionId), JSON.stringify(session), { ttlSeconds: deps.refreshTokenTtlSeconds });
      return { sessionId, session, refreshToken: await storeRefreshToken(sessionId, session) };
    },

    async rotate(refreshToken, meta) {
      if (!OPAQUE_TOKEN_PATTERN.test(refreshToken)) return { outcome: "refused", reason: "unknown" };
      const tokenHash = hashOpaqueToken(refreshToken);
      const record = readStoredRecord(RefreshRecord, await kv.take(refreshKey(tokenHash)));
      if (!record) return judgeNotLive(tokenHash);
      // Mark the token used before anything else, so a replay from here on is recognised as reuse.
      const now = clock.now();
      const marker = { sessionId: record.sessionId, userId: record.userId, generation: record.generation, usedAt: now.getTime() };
      await kv.set(usedKey(tokenHash), JSON.stringify(marker), { ttlSeconds: secondsUntil(record.expiresAt, now) });

      const session = await load(record.sessionId);
      if (!session) return { outcome: "refused", reason: record.expiresAt <= now.getTime() ? "expired" : "revoked" };
      if (session.generation !== record.generation || session.userId !== record.userId) {
        return { outcome: "reused", sessionId: record.sessionId, userId: record.userId, generation: record.generation };
      }
      // The record keeps where the session was last used from (for a future "your sessions" list).
      const next: SessionRecord = {
        ...session,
        generation: session.generation + 1,
        userAgent: meta.userAgent ?? session.userAgent,
        ip: meta.ip ?? session.ip,
      };
      await kv.set(sessionKey(record.sessionId), JSON.stringify(next), { ttlSeconds: secondsUntil(next.expiresAt, now) });
      const successor = await storeRefreshToken(record.sessionId, next);
      // A logout may have deleted the family while we rewrote it: the tombstone tells, and we undo our write.
      if ((await kv.get(revokedKey(record.sessionId))) !== null) {
        await kv.delete(sessionKey(record.sessionId));
        return { outcome: "refused", reason: "revoked" };
      }
      return { outcome: "rotated", sessionId: record.sessionId, session: next, refreshToken: successor };
    },

    get: load,

    async familyOf(refreshToken) {
      if (!OPAQUE_TOKEN_PATTERN.test(refreshToken)) return null;
      const tokenHash = hashOpaqueToken(refreshToken);
      const live = readStoredRecord(RefreshRecord, await kv.get(refreshKey(tokenHash)));
      const family = live ?? readStoredRecord(UsedMarker, await kv.get(usedKey(tokenHash)));
      return family ? { sessionId: family.sessionId, userId: family.userId } : null;
    },

    async revoke(sessionId) {
      const session = readStoredRecord(SessionRecord, await kv.get(sessionKey(sessionId)));
      const ttlSeconds = session ? secondsUntil(session.expiresAt, clock.now()) : deps.refreshTokenTtlSeconds;
      // Tombstone first, then delete: a concurrent rotation either sees the tombstone or is deleted after it wrote.
      await kv.set(revokedKey(sessionId), "1", { ttlSeconds });
      await kv.delete(sessionKey(sessionId));
    },
  };
}
