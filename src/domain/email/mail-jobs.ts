import { and, eq } from "drizzle-orm";
import type { Database } from "../../infra/db/database.ts";
import { emailTokens, users } from "../../infra/db/schema.ts";
import type { Mailer, OutgoingMail } from "../../infra/mail/mail.ts";
import { type Clock, systemClock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/logger.ts";
import { hashOpaqueToken } from "../auth/opaque-token.ts";
import type { JobHandlers } from "../jobs/handlers.ts";
import type { EmailTokenPurpose } from "./email-tokens.ts";
import { appLink, emailChangeConfirmation, emailChangeNotice, passwordResetEmail, verificationEmail } from "./templates.ts";

export interface MailJobDeps {
  database: Database;
  mailer: Mailer;
  /** PUBLIC_URL: every link starts with it. */
  publicUrl: string;
  logger: Logger;
  clock?: Clock;
}

/**
 * The outbox handlers that send email. Each reads what is current when it runs (the account's name, whether the link
 * can still work) and sends; a mailer failure throws, so the worker retries the job. A job may run twice (at least
 * once): sending twice is acceptable for email, but a link that can no longer work is not sent at all — the address
 * already verified, the token used, expired or for an address the account has left, the account deleted.
 */
export function mailJobHandlers(deps: MailJobDeps): JobHandlers {
  const { db } = deps.database;
  const clock = deps.clock ?? systemClock;

  /** The token's row and its account, when the link would still work; else null (and why, for the log). */
  const usableToken = async (token: string, purpose: EmailTokenPurpose) => {
    const [row] = await db
      .select({
        email: emailTokens.email,
        usedAt: emailTokens.usedAt,
        expiresAt: emailTokens.expiresAt,
        accountEmail: users.email,
        displayName: users.displayName,
        emailVerifiedAt: users.emailVerifiedAt,
        deletedAt: users.deletedAt,
      })
      .from(emailTokens)
      .innerJoin(users, eq(users.id, emailTokens.userId))
      .where(and(eq(emailTokens.tokenHash, hashOpaqueToken(token)), eq(emailTokens.purpose, purpose)));
    const skip =
      !row ? "gone"
      : row.deletedAt !== null ? "account-deleted"
      : row.usedAt !== null ? "used"
      : row.expiresAt <= clock.now() ? "expired"
      : null;
    return { row: skip === null ? row! : null, skip };
  };

  const send = async (kind: string, mail: OutgoingMail): Promise<void> => {
    const { messageId } = await deps.mailer.send(mail);
    deps.logger.info("email sent", { kind, messageId });
  };
  const skipped = (kind: string, reason: string): void => deps.logger.info("email not sent: its link could no longer work", { kind, reason });

  return {
    async "email.verify"({ token }) {
      const { row, skip } = await usableToken(token, "verify");
      const why = skip ?? (row!.emailVerifiedAt !== null ? "already-verified" : row!.accountEmail !== row!.email ? "address-changed" : null);
      if (why !== null) return skipped("email.verify", why);
      await send("email.verify", verificationEmail({ to: row!.email, displayName: row!.displayName, link: appLink(deps.publicUrl, "/verify-email", token) }));
    },

    async "email.passwordReset"({ token }) {
      const { row, skip } = await usableToken(token, "reset");
      const why = skip ?? (row!.accountEmail !== row!.email ? "address-changed" : null);
      if (why !== null) return skipped("email.passwordReset", why);
      await send(
        "email.passwordReset",
        passwordResetEmail({ to: row!.email, displayName: row!.displayName, link: appLink(deps.publicUrl, "/reset-password", token) }),
      );
    },

    async "email.changeConfirm"({ token }) {
      const { row, skip } = await usableToken(token, "change");
      if (skip !== null) return skipped("email.changeConfirm", skip);
      // To the new address, which the token row holds (the payload's copy is the same).
      await send(
        "email.changeConfirm",
        emailChangeConfirmation({ to: row!.email, displayName: row!.displayName, link: appLink(deps.publicUrl, "/verify-email", token) }),
      );
    },

    async "email.changeNotice"({ userId, oldEmail, newEmail }) {
      const [account] = await db.select({ displayName: users.displayName, deletedAt: users.deletedAt }).from(users).where(eq(users.id, userId));
      if (!account || account.deletedAt !== null) return skipped("email.changeNotice", "account-deleted");
      await send("email.changeNotice", emailChangeNotice({ to: oldEmail, displayName: account.displayName, newEmail }));
    },
  };
}
