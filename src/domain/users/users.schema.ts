import { z } from "zod";
import { DisplayName } from "../auth/auth.schema.ts";
import { Emoji } from "../messages/messages.schema.ts";
import { plainText } from "../plain-text.ts";
import { pageCursor, PgTimestampText } from "../rooms/page-cursor.ts";
import { TimeZone } from "./time-zone.ts";

/** What anyone who can see a user sees. Never carries email or credentials. */
export interface UserPublic {
  id: string;
  username: string;
  displayName: string;
}

/** Who may open a direct room with the user (enforced by rooms.openDirect). */
export type DmPolicy = "everyone" | "friends" | "nobody";

/** A status line with its emoji; `expiresAt` null: until cleared. An expired status reads as null everywhere. */
export interface UserStatus {
  text: string;
  emoji: string;
  expiresAt: string | null;
}

/** What `users.get` shows of anyone: the public fields and the profile. Never email, never settings. */
export interface UserPublicProfile extends UserPublic {
  /** Plain text over several lines; "" when unset. */
  bio: string;
  status: UserStatus | null;
  /** An IANA zone name, or null when the user has not said. */
  timezone: string | null;
  /** The account was deleted (auth.deleteAccount): the name is a placeholder and the profile is empty. */
  deleted: boolean;
  /** The avatar's file, null for none; files.url with variant "thumbnail" serves it small (every avatar has one). */
  avatarFileId: string | null;
}

/** The signed-in user's own view. */
export interface UserProfile extends UserPublic {
  email: string;
  emailVerified: boolean;
  /** Receipts go only to the user's own devices; others see no delivered/read times for them. */
  privateReceipts: boolean;
  bio: string;
  status: UserStatus | null;
  timezone: string | null;
  dmPolicy: DmPolicy;
  avatarFileId: string | null;
  createdAt: string;
}

export const UserId = z.uuid();

export const GetUserInput = z.strictObject({ userId: UserId });

export const SearchUsersInput = z.strictObject({
  /** NFC like the names it is matched against. */
  query: z.string().normalize("NFC").trim().check(plainText({ field: "query" })).min(1).max(64),
  limit: z.number().int().min(1).max(50).default(20),
});
export type SearchUsersInput = z.infer<typeof SearchUsersInput>;

export const BIO_MAX_CHARS = 280;
export const STATUS_TEXT_MAX_CHARS = 100;
/** A status may be set to expire at most this far ahead (30 days). */
export const STATUS_MAX_SECONDS = 30 * 24 * 3600;

/** Several lines of plain text, NFC and trimmed; at most 280 characters (code points). "" clears it. */
const Bio = z
  .string()
  .max(BIO_MAX_CHARS * 8, `bio must be at most ${BIO_MAX_CHARS} characters`)
  .transform((value) => value.normalize("NFC").trim())
  .pipe(
    z
      .string()
      .check(plainText({ field: "bio", lines: "many" }))
      .refine((value) => [...value].length <= BIO_MAX_CHARS, { message: `bio must be at most ${BIO_MAX_CHARS} characters` }),
  );

/** One line of plain text, NFC and trimmed, 1–100 characters. */
const StatusText = z
  .string()
  .max(STATUS_TEXT_MAX_CHARS * 8, `status text must be at most ${STATUS_TEXT_MAX_CHARS} characters`)
  .transform((value) => value.normalize("NFC").trim())
  .pipe(
    z
      .string()
      .check(plainText({ field: "status text" }))
      .min(1, "status text must not be empty")
      .refine((value) => [...value].length <= STATUS_TEXT_MAX_CHARS, {
        message: `status text must be at most ${STATUS_TEXT_MAX_CHARS} characters`,
      }),
  );

/**
 * A status: its text, one emoji (the reaction rule) and, optionally, how long it lasts — a duration rather than a
 * time, so a client with a wrong clock still gets what it asked for. Null clears it.
 */
const StatusInput = z.strictObject({
  text: StatusText,
  emoji: Emoji,
  expiresInSeconds: z.number().int().min(60).max(STATUS_MAX_SECONDS).optional(),
});

export const UpdateMeInput = z
  .strictObject({
    displayName: DisplayName.optional(),
    privateReceipts: z.boolean().optional(),
    bio: Bio.optional(),
    status: StatusInput.nullable().optional(),
    timezone: TimeZone.nullable().optional(),
    dmPolicy: z.enum(["everyone", "friends", "nobody"]).optional(),
    /** A ready file of purpose "avatar" the caller uploaded; null removes the avatar. The one replaced is deleted. */
    avatarFileId: z.uuid().nullable().optional(),
  })
  .refine((input) => Object.values(input).some((value) => value !== undefined), {
    message: "change at least one of displayName, privateReceipts, bio, status, timezone, dmPolicy, avatarFileId",
  });
export type UpdateMeInput = z.infer<typeof UpdateMeInput>;

/** Someone I blocked (users.blocked), newest first. */
export interface BlockedUser {
  user: UserPublic;
  blockedAt: string;
}

export const BlockUserInput = z.strictObject({ userId: UserId });
export type BlockUserInput = z.infer<typeof BlockUserInput>;

export const BlockedUsersInput = z.strictObject({
  cursor: pageCursor(PgTimestampText).optional(),
  limit: z.number().int().min(1).max(200).default(50),
});
export type BlockedUsersInput = z.infer<typeof BlockedUsersInput>;
