import { z } from "zod";
import { DisplayName } from "../auth/auth.schema.ts";
import { plainText } from "../plain-text.ts";
import { pageCursor, PgTimestampText } from "../rooms/page-cursor.ts";

/** What anyone who can see a user sees. Never carries email or credentials. */
export interface UserPublic {
  id: string;
  username: string;
  displayName: string;
}

/** The signed-in user's own view. */
export interface UserProfile extends UserPublic {
  email: string;
  emailVerified: boolean;
  /** Receipts go only to the user's own devices; others see no delivered/read times for them. */
  privateReceipts: boolean;
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

export const UpdateMeInput = z
  .strictObject({ displayName: DisplayName.optional(), privateReceipts: z.boolean().optional() })
  .refine((input) => input.displayName !== undefined || input.privateReceipts !== undefined, {
    message: "change at least one of displayName, privateReceipts",
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
