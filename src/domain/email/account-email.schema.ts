import { z } from "zod";
import { Email, Password } from "../auth/auth.schema.ts";

/** A token from a link in an email: 32 bytes, base64url (43 characters); anything else is refused before a query. */
export const EmailLinkToken = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "malformed token");

export const VerifyEmailInput = z.strictObject({ token: EmailLinkToken });
export type VerifyEmailInput = z.infer<typeof VerifyEmailInput>;

export const RequestPasswordResetInput = z.strictObject({ email: Email });
export type RequestPasswordResetInput = z.infer<typeof RequestPasswordResetInput>;

export const ResetPasswordInput = z.strictObject({ token: EmailLinkToken, newPassword: Password });
export type ResetPasswordInput = z.infer<typeof ResetPasswordInput>;

/** The password is checked like a login password (any string: see LoginInput); the new address like a registration's. */
export const ChangeEmailInput = z.strictObject({ newEmail: Email, password: z.string().min(1).max(1024) });
export type ChangeEmailInput = z.infer<typeof ChangeEmailInput>;

/** What a used link did: verified the account's address, or changed it to the one the link was sent to. */
export interface EmailVerified {
  verified: true;
  purpose: "verify" | "change";
  email: string;
}
