import { and, eq, gt, inArray, isNull } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { emailTokens } from "../../infra/db/schema.ts";
import { hashOpaqueToken, newOpaqueToken, OPAQUE_TOKEN_PATTERN } from "../auth/opaque-token.ts";

/**
 * Single-use tokens for links in emails (table `email_tokens`): 256 random bits, stored only as their SHA-256, each
 * for one purpose and one address. The token itself travels in the job that sends the email, and in the email.
 */
export type EmailTokenPurpose = "verify" | "reset" | "change";

export const EMAIL_TOKEN_TTL_MS: Record<EmailTokenPurpose, number> = {
  verify: 24 * 3600_000,
  reset: 30 * 60_000,
  change: 24 * 3600_000,
};

export interface IssuedEmailToken {
  token: string;
  tokenHash: string;
}

export async function issueEmailToken(
  tx: Db,
  request: { userId: string; purpose: EmailTokenPurpose; email: string; now: Date },
): Promise<IssuedEmailToken> {
  const token = newOpaqueToken();
  const tokenHash = hashOpaqueToken(token);
  await tx.insert(emailTokens).values({
    tokenHash,
    userId: request.userId,
    purpose: request.purpose,
    email: request.email,
    expiresAt: new Date(request.now.getTime() + EMAIL_TOKEN_TTL_MS[request.purpose]),
    createdAt: request.now,
  });
  return { token, tokenHash };
}

/**
 * Uses the token up, atomically: of two concurrent uses exactly one gets the row. Null for a token that is unknown,
 * already used, expired or of another purpose — the caller answers all of them alike.
 */
export async function consumeEmailToken(
  tx: Db,
  token: string,
  purposes: EmailTokenPurpose[],
  now: Date,
): Promise<{ userId: string; purpose: EmailTokenPurpose; email: string } | null> {
  if (!OPAQUE_TOKEN_PATTERN.test(token)) return null;
  const [row] = await tx
    .update(emailTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(emailTokens.tokenHash, hashOpaqueToken(token)),
        isNull(emailTokens.usedAt),
        gt(emailTokens.expiresAt, now),
        inArray(emailTokens.purpose, purposes),
      ),
    )
    .returning({ userId: emailTokens.userId, purpose: emailTokens.purpose, email: emailTokens.email });
  return row ? { ...row, purpose: row.purpose as EmailTokenPurpose } : null;
}

/** Ends the user's other live tokens of these purposes (a reset link is dead once the password was reset). */
export async function retireEmailTokens(tx: Db, userId: string, purposes: EmailTokenPurpose[], now: Date): Promise<void> {
  await tx
    .update(emailTokens)
    .set({ usedAt: now })
    .where(and(eq(emailTokens.userId, userId), isNull(emailTokens.usedAt), inArray(emailTokens.purpose, purposes)));
}
