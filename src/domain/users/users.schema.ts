import { z } from "zod";

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
  createdAt: string;
}

export const UserId = z.uuid();

export const GetUserInput = z.strictObject({ userId: UserId });

export const SearchUsersInput = z.strictObject({
  query: z.string().trim().min(1).max(64),
  limit: z.number().int().min(1).max(50).default(20),
});
export type SearchUsersInput = z.infer<typeof SearchUsersInput>;
