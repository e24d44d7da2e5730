import { z } from "zod";
import { type ResumePositions, ResumePositionsSchema } from "../room-log/room-log.schema.ts";
import { humanName } from "../human-name.ts";
import { plainText } from "../plain-text.ts";
import type { UserProfile } from "../users/users.schema.ts";

const RESERVED_USERNAMES = new Set([
  "admin", "administrator", "root", "system", "support", "help", "parley", "moderator", "mod", "staff",
  "owner", "official", "security", "api", "www", "null", "undefined", "me", "everyone", "here", "all", "room", "channel",
]);

/** NFKC + case-fold, then 3–32 of [a-z0-9_.-]; reserved names refused. */
export const Username = z
  .string()
  .max(128)
  .transform((value) => value.normalize("NFKC").toLowerCase().trim())
  .pipe(
    z
      .string()
      .min(3, "username must be 3–32 characters")
      .max(32, "username must be 3–32 characters")
      .regex(/^[a-z0-9_.-]+$/, "username may only use a–z, 0–9, _, . and -")
      .refine((value) => !RESERVED_USERNAMES.has(value), { message: "this username is reserved" }),
  );

export const Email = z
  .string()
  .max(254)
  .transform((value) => value.trim().toLowerCase())
  .pipe(z.email("not a valid email address").max(254));

/**
 * 8–256 characters after NFKC; no composition rules, no silent truncation. A new password is plain text: a control
 * character cannot be typed on the next device, and Argon2 would hash a lone surrogate as U+FFFD (two different
 * passwords, one hash). Login takes any password (see LoginInput).
 */
export const Password = z
  .string()
  .max(1024)
  .transform((value) => value.normalize("NFKC"))
  .pipe(
    z
      .string()
      .check(plainText({ field: "password" }))
      .refine((value) => [...value].length >= 8, { message: "password must be at least 8 characters" })
      .refine((value) => [...value].length <= 256, { message: "password must be at most 256 characters" }),
  );

export const DisplayName = humanName({ field: "displayName", maxChars: 64 });

/** Browsers get the refresh token as an HttpOnly cookie; other clients may ask for it in the body. */
export const RefreshTokenDelivery = z.enum(["cookie", "body"]).default("cookie");

export const RegisterInput = z.strictObject({
  email: Email,
  username: Username,
  password: Password,
  displayName: DisplayName.optional(),
  refreshTokenIn: RefreshTokenDelivery,
});
export type RegisterInput = z.infer<typeof RegisterInput>;

export const LoginInput = z.strictObject({
  /** Email or username: it reaches SQL, so plain text (a pasted trailing newline is trimmed first). */
  login: z.string().trim().min(1).max(254).check(plainText({ field: "login" })),
  /**
   * Any string: it only reaches Argon2, and accounts registered before Password refused control characters must
   * still sign in. An odd wrong password is answered like every other wrong password.
   */
  password: z.string().min(1).max(1024),
  refreshTokenIn: RefreshTokenDelivery,
});
export type LoginInput = z.infer<typeof LoginInput>;

/** An opaque refresh token: 32 bytes, base64url. */
export const RefreshToken = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "malformed refresh token");

export const RefreshInput = z
  .strictObject({ refreshToken: RefreshToken.optional(), refreshTokenIn: RefreshTokenDelivery })
  .default({ refreshTokenIn: "cookie" });
export const LogoutInput = z.strictObject({ refreshToken: RefreshToken.optional() }).default({});

/** Resume positions may ride on the ticket, so the socket replays history before going live (no reordering). */
export const WsTicketInput = z
  .strictObject({
    resume: ResumePositionsSchema.optional(),
  })
  .default({});
export type WsTicketInput = z.infer<typeof WsTicketInput>;

/** Either a session of mine or none: a uuid, nothing else reaches the query. */
export const RevokeSessionInput = z.strictObject({ sessionId: z.uuid() });

/**
 * The current password is checked like a login password (any string: see LoginInput); the new one follows the
 * registration rules.
 */
export const ChangePasswordInput = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: Password,
});
export type ChangePasswordInput = z.infer<typeof ChangePasswordInput>;

/** The password is checked like a login password (any string: see LoginInput). */
export const DeleteAccountInput = z.strictObject({ password: z.string().min(1).max(1024) });
export type DeleteAccountInput = z.infer<typeof DeleteAccountInput>;

/** One of my live sessions, as "your devices" shows it. */
export interface SessionSummary {
  id: string;
  /** From the user agent it last used: "Chrome on Linux", "Node", "Unknown device". */
  device: string;
  /** The client address it was last used from, when the server could tell. */
  ip: string | null;
  createdAt: string;
  lastActiveAt: string;
  /** The session of the access token that asked. */
  current: boolean;
}

/** The authenticated caller, as carried by an access token. */
export interface AuthSession {
  userId: string;
  /** The refresh-token family this access token descends from; logout revokes it. */
  sessionId: string;
}

export interface IssuedTokens {
  user: UserProfile;
  accessToken: string;
  accessTokenExpiresAt: string;
  /** Present only to the service layer; the router decides whether it goes in a cookie or the body. */
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

export interface WsTicketClaims {
  userId: string;
  sessionId: string;
  resume: ResumePositions | null;
}

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}
