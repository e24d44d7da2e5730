import { and, eq, gt, isNull, or } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { roomBans, roomMutes } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";

/** A ban or mute in force at `now`: no expiry, or one still ahead. */
export interface Restriction {
  byUserId: string | null;
  reason: string | null;
  /** ISO time it lifts by itself; null: until a moderator lifts it. */
  expiresAt: string | null;
}

/**
 * The user's ban from the room in force at `now`, or null. Every way in (join, invitation, invite link) asks inside
 * the transaction that would add them, under the room's lock, so a ban and a join never both win.
 */
export async function activeBan(db: Db, roomId: string, userId: string, now: Date): Promise<Restriction | null> {
  const [row] = await db
    .select({ byUserId: roomBans.bannedBy, reason: roomBans.reason, expiresAt: roomBans.expiresAt })
    .from(roomBans)
    .where(and(eq(roomBans.roomId, roomId), eq(roomBans.userId, userId), or(isNull(roomBans.expiresAt), gt(roomBans.expiresAt, now))));
  return row ? { ...row, expiresAt: row.expiresAt?.toISOString() ?? null } : null;
}

/** The user's mute in the room in force at `now`, or null. Sends, reactions and typing ask under the room's lock. */
export async function activeMute(db: Db, roomId: string, userId: string, now: Date): Promise<Restriction | null> {
  const [row] = await db
    .select({ byUserId: roomMutes.mutedBy, reason: roomMutes.reason, expiresAt: roomMutes.expiresAt })
    .from(roomMutes)
    .where(and(eq(roomMutes.roomId, roomId), eq(roomMutes.userId, userId), or(isNull(roomMutes.expiresAt), gt(roomMutes.expiresAt, now))));
  return row ? { ...row, expiresAt: row.expiresAt?.toISOString() ?? null } : null;
}

/** FORBIDDEN reason BANNED when the user is banned from the room. */
export async function requireNotBanned(db: Db, roomId: string, userId: string, now: Date): Promise<void> {
  if (await activeBan(db, roomId, userId, now)) throw new DomainError("FORBIDDEN", "banned from this room", { reason: "BANNED" });
}

/** FORBIDDEN reason MUTED when the user is muted in the room. */
export async function requireNotMuted(db: Db, roomId: string, userId: string, now: Date): Promise<void> {
  if (await activeMute(db, roomId, userId, now)) throw new DomainError("FORBIDDEN", "muted in this room", { reason: "MUTED" });
}
