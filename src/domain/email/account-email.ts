import { and, eq, isNull, ne } from "drizzle-orm";
import { type Database, type Db, isUniqueViolation } from "../../infra/db/database.ts";
import { users } from "../../infra/db/schema.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { AuthSession, RequestMeta } from "../auth/auth.schema.ts";
import { hashPassword, verifyPassword } from "../auth/password.ts";
import type { SessionStore } from "../auth/sessions.ts";
import { enqueueJob } from "../jobs/enqueue.ts";
import type {
  ChangeEmailInput,
  EmailVerified,
  RequestPasswordResetInput,
  ResetPasswordInput,
  VerifyEmailInput,
} from "./account-email.schema.ts";
import { consumeEmailToken, type EmailTokenPurpose, issueEmailToken, retireEmailTokens } from "./email-tokens.ts";

/** What a user does with the account's email address: verify it, reset a forgotten password by it, change it. */
export interface AccountEmail {
  /**
   * Uses a link's token: "verify" sets email_verified_at; "change" moves the account to the address the link went to
   * (CONFLICT when that address was taken meanwhile; the link then stays usable). BAD_REQUEST reason EMAIL_TOKEN, one
   * answer for a token that is unknown, used, expired, or for an address the account no longer has.
   */
  verifyEmail(input: VerifyEmailInput, meta: RequestMeta): Promise<EmailVerified>;
  /** Another verification email; `sent: false` (and nothing sent) when the address is already verified. */
  resendVerification(session: AuthSession): Promise<{ sent: boolean }>;
  /**
   * The same answer, after the same work, whether or not an account has that address (no account discovery).
   * TOO_MANY_REQUESTS per client address and per email address asked about.
   */
  requestPasswordReset(input: RequestPasswordResetInput, meta: RequestMeta): Promise<{ requested: true }>;
  /** Sets the password, uses the token up and revokes every session (their sockets close). BAD_REQUEST reason EMAIL_TOKEN. */
  resetPassword(input: ResetPasswordInput, meta: RequestMeta): Promise<{ passwordReset: true; revoked: number }>;
  /**
   * Checks the password like changePassword (UNAUTHORIZED, counted as a failed login), then sends a link to the new
   * address and a notice to the old one. The address changes only when the link is used (auth.verifyEmail).
   * CONFLICT for an address another account has; BAD_REQUEST for the account's own.
   */
  changeEmail(session: AuthSession, input: ChangeEmailInput, meta: RequestMeta): Promise<{ pending: true }>;
}

export interface AccountEmailDeps {
  database: Database;
  sessions: SessionStore;
  clock: Clock;
  logger: Logger;
  announceRevoked(family: { sessionId: string; userId: string }, reason: string): Promise<void>;
  limitPasswordCheck(userId: string, meta: RequestMeta, check: () => Promise<boolean>): Promise<boolean>;
  /** The rate limits these calls are charged to (TOO_MANY_REQUESTS when spent). */
  limits: {
    /** Token uses and reset requests, per client address (the auth-ip bucket). */
    perIp(meta: RequestMeta): Promise<void>;
    /** Emails a signed-in user causes (resend, change). */
    emailsOf(userId: string): Promise<void>;
    /** Reset requests about one address. */
    resetsFor(email: string): Promise<void>;
  };
}

const BAD_TOKEN = "this link is invalid, used or expired";
const badToken = (): DomainError => new DomainError("BAD_REQUEST", BAD_TOKEN, { reason: "EMAIL_TOKEN" });

/** Keeps none: revokeAllBut with no session to keep revokes every one. */
const KEEP_NO_SESSION = "";

/**
 * Writes a verification token for the account's address and the job that emails it, in the caller's transaction
 * (registration's, or a resend's): the email is sent exactly when the change that causes it committed.
 */
export async function issueVerification(tx: Db, user: { id: string; email: string }, now: Date): Promise<void> {
  const { token, tokenHash } = await issueEmailToken(tx, { userId: user.id, purpose: "verify", email: user.email, now });
  await enqueueJob(tx, { kind: "email.verify", payload: { userId: user.id, token }, idempotencyKey: `email.verify:${tokenHash}` });
}

export function createAccountEmail(deps: AccountEmailDeps): AccountEmail {
  const { database, sessions, clock, logger } = deps;
  const { db } = database;

  const liveAccount = async (tx: Db, userId: string) => {
    const [row] = await tx
      .select({ id: users.id, email: users.email, emailVerifiedAt: users.emailVerifiedAt, passwordHash: users.passwordHash })
      .from(users)
      .where(and(eq(users.id, userId), isNull(users.deletedAt)))
      .for("update");
    return row ?? null;
  };

  return {
    async verifyEmail(input, meta) {
      await deps.limits.perIp(meta);
      const now = clock.now();
      try {
        const result = await db.transaction(async (tx): Promise<EmailVerified | null> => {
          const used = await consumeEmailToken(tx, input.token, ["verify", "change"], now);
          if (!used) return null;
          const account = await liveAccount(tx, used.userId);
          if (!account) return null;
          if (used.purpose === "verify") {
            // A link for an address the account has since left verifies nothing.
            if (account.email !== used.email) return null;
            if (account.emailVerifiedAt === null) await tx.update(users).set({ emailVerifiedAt: now }).where(eq(users.id, account.id));
            return { verified: true, purpose: "verify", email: used.email };
          }
          // The unique index decides whether the address is still free (a racing registration cannot slip past).
          await tx.update(users).set({ email: used.email, emailVerifiedAt: now }).where(eq(users.id, account.id));
          // Links sent to the old address (a reset, its verification) and other pending changes are dead now.
          await retireEmailTokens(tx, account.id, ["verify", "reset", "change"] satisfies EmailTokenPurpose[], now);
          return { verified: true, purpose: "change", email: used.email };
        });
        if (!result) throw badToken();
        logger.info("email verified", { purpose: result.purpose });
        return result;
      } catch (error) {
        // The whole transaction rolled back: the link is still unused and works once the address is free again.
        if (isUniqueViolation(error)) throw new DomainError("CONFLICT", "that email address is already taken");
        throw error;
      }
    },

    async resendVerification(session) {
      await deps.limits.emailsOf(session.userId);
      const sent = await db.transaction(async (tx) => {
        const account = await liveAccount(tx, session.userId);
        if (!account) throw new DomainError("UNAUTHORIZED", "invalid or expired access token");
        if (account.emailVerifiedAt !== null) return false;
        await issueVerification(tx, account, clock.now());
        return true;
      });
      logger.info("verification email requested", { userId: session.userId, sent });
      return { sent };
    },

    async requestPasswordReset(input, meta) {
      // Charged alike for every address, known or not.
      await deps.limits.perIp(meta);
      await deps.limits.resetsFor(input.email);
      const now = clock.now();
      // The same shape either way: one transaction with the lookup; for an account, two small inserts in it more.
      await db.transaction(async (tx) => {
        const [account] = await tx
          .select({ id: users.id, email: users.email })
          .from(users)
          .where(and(eq(users.email, input.email), isNull(users.deletedAt)))
          .limit(1);
        if (!account) return;
        const issued = await issueEmailToken(tx, { userId: account.id, purpose: "reset", email: account.email, now });
        await enqueueJob(tx, {
          kind: "email.passwordReset",
          payload: { userId: account.id, token: issued.token },
          idempotencyKey: `email.passwordReset:${issued.tokenHash}`,
        });
      });
      return { requested: true };
    },

    async resetPassword(input, meta) {
      await deps.limits.perIp(meta);
      // Hashed before the transaction, so no row stays locked through Argon2. The schema already normalised it.
      const passwordHash = await hashPassword(input.newPassword.normalize("NFKC"));
      const now = clock.now();
      const userId = await db.transaction(async (tx) => {
        const used = await consumeEmailToken(tx, input.token, ["reset"], now);
        if (!used) return null;
        const account = await liveAccount(tx, used.userId);
        if (!account || account.email !== used.email) return null;
        await tx.update(users).set({ passwordHash }).where(eq(users.id, account.id));
        await retireEmailTokens(tx, account.id, ["reset"], now);
        return account.id;
      });
      if (!userId) throw badToken();
      // After the hash changed (a login racing this either saw the old hash and is revoked here, or sees the new one).
      const revoked = await sessions.revokeAllBut(userId, KEEP_NO_SESSION);
      await Promise.all(revoked.map((sessionId) => deps.announceRevoked({ sessionId, userId }, "password-reset")));
      logger.info("password reset", { userId, revoked: revoked.length });
      return { passwordReset: true, revoked: revoked.length };
    },

    async changeEmail(session, input, meta) {
      const [current] = await db
        .select({ email: users.email, passwordHash: users.passwordHash })
        .from(users)
        .where(and(eq(users.id, session.userId), isNull(users.deletedAt)));
      if (!current) throw new DomainError("UNAUTHORIZED", "invalid or expired access token");
      const matches = await deps.limitPasswordCheck(session.userId, meta, () =>
        verifyPassword(current.passwordHash, input.password.normalize("NFKC")),
      );
      if (!matches) {
        logger.info("email change refused", { reason: "wrong-password", userId: session.userId });
        throw new DomainError("UNAUTHORIZED", "wrong password");
      }
      if (input.newEmail === current.email) throw new DomainError("BAD_REQUEST", "that is already your email address");
      // Charged once the password passed (a wrong one counts as a failed login instead), taken address or not.
      await deps.limits.emailsOf(session.userId);
      const now = clock.now();
      await db.transaction(async (tx) => {
        const account = await liveAccount(tx, session.userId);
        if (!account) throw new DomainError("UNAUTHORIZED", "invalid or expired access token");
        const [taken] = await tx.select({ id: users.id }).from(users).where(and(eq(users.email, input.newEmail), ne(users.id, account.id)));
        // Checked again when the link is used: this only spares sending a link that cannot work.
        if (taken) throw new DomainError("CONFLICT", "that email address is already taken");
        const issued = await issueEmailToken(tx, { userId: account.id, purpose: "change", email: input.newEmail, now });
        await enqueueJob(tx, {
          kind: "email.changeConfirm",
          payload: { userId: account.id, token: issued.token, newEmail: input.newEmail },
          idempotencyKey: `email.changeConfirm:${issued.tokenHash}`,
        });
        await enqueueJob(tx, {
          kind: "email.changeNotice",
          payload: { userId: account.id, oldEmail: account.email, newEmail: input.newEmail },
          idempotencyKey: `email.changeNotice:${issued.tokenHash}`,
        });
      });
      logger.info("email change requested", { userId: session.userId });
      return { pending: true };
    },
  };
}
