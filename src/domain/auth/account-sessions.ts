import { eq } from "drizzle-orm";
import type { Database } from "../../infra/db/database.ts";
import { users } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { AuthSession, ChangePasswordInput, RequestMeta, SessionSummary } from "./auth.schema.ts";
import { deviceLabel } from "./device-label.ts";
import { hashPassword, verifyPassword } from "./password.ts";
import type { SessionStore } from "./sessions.ts";

/** What a signed-in user may do with their own sessions and password ("your devices", "change password"). */
export interface AccountSessions {
  /** Live sessions, most recently active first; `current` marks the one the caller's access token belongs to. */
  listSessions(session: AuthSession): Promise<SessionSummary[]>;
  /** NOT_FOUND for a session that is not the caller's live session, whoever's it is. The current one may go too. */
  revokeSession(session: AuthSession, sessionId: string): Promise<{ revoked: true }>;
  revokeOtherSessions(session: AuthSession): Promise<{ revoked: number }>;
  /**
   * UNAUTHORIZED for a wrong current password, counted like a failed login; on success every other session is
   * revoked and the caller's stays signed in.
   */
  changePassword(session: AuthSession, input: ChangePasswordInput, meta: RequestMeta): Promise<{ passwordChanged: true; revoked: number }>;
}

export interface AccountSessionsDeps {
  database: Database;
  sessions: SessionStore;
  logger: Logger;
  /** After the store revoked it: every instance forgets the session and its sockets are closed. */
  announceRevoked(family: { sessionId: string; userId: string }, reason: string): Promise<void>;
  /**
   * Runs a password check under the failed-login limits of `userId` (TOO_MANY_REQUESTS once they are spent):
   * the attempt is charged before `check`, and given back when it passes.
   */
  limitPasswordCheck(userId: string, meta: RequestMeta, check: () => Promise<boolean>): Promise<boolean>;
}

const NO_SUCH_SESSION = "no such session";
const WRONG_PASSWORD = "wrong password";

export function createAccountSessions(deps: AccountSessionsDeps): AccountSessions {
  const { database, sessions, logger } = deps;

  const revokeOthers = async (session: AuthSession, reason: string): Promise<number> => {
    const revoked = await sessions.revokeAllBut(session.userId, session.sessionId);
    // Already dead for every HTTP call; this reaches the other instances' caches and the sockets. A failure fails
    // the call: the client may retry, and revoking again finds nothing left but does no harm.
    await Promise.all(revoked.map((sessionId) => deps.announceRevoked({ sessionId, userId: session.userId }, reason)));
    return revoked.length;
  };

  return {
    async listSessions(session) {
      const live = await sessions.listLive(session.userId);
      return live.map((row) => ({
        id: row.sessionId,
        device: deviceLabel(row.userAgent),
        ip: row.ip,
        createdAt: row.createdAt.toISOString(),
        lastActiveAt: row.lastUsedAt.toISOString(),
        current: row.sessionId === session.sessionId,
      }));
    },

    async revokeSession(session, sessionId) {
      if (!(await sessions.revokeOwned(session.userId, sessionId))) throw new DomainError("NOT_FOUND", NO_SUCH_SESSION);
      await deps.announceRevoked({ sessionId, userId: session.userId }, "revoked-by-user");
      return { revoked: true };
    },

    async revokeOtherSessions(session) {
      return { revoked: await revokeOthers(session, "revoked-by-user") };
    },

    async changePassword(session, input, meta) {
      const [row] = await database.db
        .select({ passwordHash: users.passwordHash })
        .from(users)
        .where(eq(users.id, session.userId))
        .limit(1);
      if (!row) throw new DomainError("UNAUTHORIZED", "invalid or expired access token");
      const matches = await deps.limitPasswordCheck(session.userId, meta, () =>
        verifyPassword(row.passwordHash, input.currentPassword.normalize("NFKC")),
      );
      if (!matches) {
        logger.info("password change refused", { reason: "wrong-password", userId: session.userId });
        throw new DomainError("UNAUTHORIZED", WRONG_PASSWORD);
      }
      // The schema already normalised it; doing it here too keeps the stored hash NFKC whoever calls.
      const passwordHash = await hashPassword(input.newPassword.normalize("NFKC"));
      await database.db.update(users).set({ passwordHash }).where(eq(users.id, session.userId));
      // Whoever may know the old password is signed out everywhere but here.
      const revoked = await revokeOthers(session, "password-changed");
      logger.info("password changed", { userId: session.userId, sessionId: session.sessionId, revoked });
      return { passwordChanged: true, revoked };
    },
  };
}
