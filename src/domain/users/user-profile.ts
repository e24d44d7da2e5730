import { users } from "../../infra/db/schema.ts";
import type { UserProfile } from "./users.schema.ts";

/** The columns of the signed-in user's own view; read by auth (register, login, me) and users.updateMe. */
export const profileColumns = {
  id: users.id,
  email: users.email,
  username: users.username,
  displayName: users.displayName,
  emailVerifiedAt: users.emailVerifiedAt,
  privateReceipts: users.privateReceipts,
  createdAt: users.createdAt,
};

export interface ProfileRow {
  id: string;
  email: string;
  username: string;
  displayName: string;
  emailVerifiedAt: Date | null;
  privateReceipts: boolean;
  createdAt: Date;
}

export function toProfile(row: ProfileRow): UserProfile {
  return {
    id: row.id,
    username: row.username,
    displayName: row.displayName,
    email: row.email,
    emailVerified: row.emailVerifiedAt !== null,
    privateReceipts: row.privateReceipts,
    createdAt: row.createdAt.toISOString(),
  };
}
