import { users } from "../../infra/db/schema.ts";
import type { DmPolicy, UserProfile, UserPublicProfile, UserStatus } from "./users.schema.ts";

/** The columns of the signed-in user's own view; read by auth (register, login, me) and users.updateMe. */
export const profileColumns = {
  id: users.id,
  email: users.email,
  username: users.username,
  displayName: users.displayName,
  emailVerifiedAt: users.emailVerifiedAt,
  privateReceipts: users.privateReceipts,
  bio: users.bio,
  statusText: users.statusText,
  statusEmoji: users.statusEmoji,
  statusExpiresAt: users.statusExpiresAt,
  timezone: users.timezone,
  dmPolicy: users.dmPolicy,
  avatarFileId: users.avatarFileId,
  createdAt: users.createdAt,
};

interface StatusColumns {
  statusText: string;
  statusEmoji: string;
  statusExpiresAt: Date | null;
}

export interface ProfileRow extends StatusColumns {
  id: string;
  email: string;
  username: string;
  displayName: string;
  emailVerifiedAt: Date | null;
  privateReceipts: boolean;
  bio: string;
  timezone: string | null;
  dmPolicy: string;
  avatarFileId: string | null;
  createdAt: Date;
}

/** The columns of `users.get`. */
export const publicProfileColumns = {
  id: users.id,
  username: users.username,
  displayName: users.displayName,
  bio: users.bio,
  statusText: users.statusText,
  statusEmoji: users.statusEmoji,
  statusExpiresAt: users.statusExpiresAt,
  timezone: users.timezone,
  deletedAt: users.deletedAt,
  avatarFileId: users.avatarFileId,
};

export interface PublicProfileRow extends StatusColumns {
  id: string;
  username: string;
  displayName: string;
  bio: string;
  timezone: string | null;
  deletedAt: Date | null;
  avatarFileId: string | null;
}

/** The status as readers see it at `now`: none when unset or expired (the row is not cleaned up, only ignored). */
export function statusAt(row: StatusColumns, now: Date): UserStatus | null {
  if (row.statusText === "" && row.statusEmoji === "") return null;
  if (row.statusExpiresAt !== null && row.statusExpiresAt.getTime() <= now.getTime()) return null;
  return { text: row.statusText, emoji: row.statusEmoji, expiresAt: row.statusExpiresAt?.toISOString() ?? null };
}

export function toProfile(row: ProfileRow, now: Date): UserProfile {
  return {
    id: row.id,
    username: row.username,
    displayName: row.displayName,
    email: row.email,
    emailVerified: row.emailVerifiedAt !== null,
    privateReceipts: row.privateReceipts,
    bio: row.bio,
    status: statusAt(row, now),
    timezone: row.timezone,
    // The database's check constraint admits exactly these three.
    dmPolicy: row.dmPolicy as DmPolicy,
    avatarFileId: row.avatarFileId,
    createdAt: row.createdAt.toISOString(),
  };
}

export function toPublicProfile(row: PublicProfileRow, now: Date): UserPublicProfile {
  return {
    id: row.id,
    username: row.username,
    displayName: row.displayName,
    bio: row.bio,
    status: statusAt(row, now),
    timezone: row.timezone,
    deleted: row.deletedAt !== null,
    avatarFileId: row.avatarFileId,
  };
}
