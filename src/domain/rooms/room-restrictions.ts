import { and, desc, eq, gt, isNull, or, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../infra/db/database.ts";
import { roomBans, roomMutes, users } from "../../infra/db/schema.ts";
import type { Clock } from "../../lib/clock.ts";
import type { UserPublic } from "../users/users.schema.ts";
import { encodeCursor, pageCursor, PgTimestampText } from "./page-cursor.ts";
import { requirePermission } from "./permissions.ts";
import { findMemberRoom } from "./room-access.ts";
import { type Page, RoomId } from "./rooms.schema.ts";

/** One ban or mute in force, as `rooms.bans` / `rooms.mutes` list it. */
export interface RoomRestriction {
  user: UserPublic;
  /** The moderator who imposed it; null once their account is gone. */
  byUserId: string | null;
  reason: string | null;
  /** When it lifts by itself; null: when a moderator lifts it. */
  expiresAt: string | null;
  createdAt: string;
}

/** Restrictions page by (created_at, user id), newest first. */
export const RestrictionsInput = z.strictObject({
  roomId: RoomId,
  cursor: pageCursor(PgTimestampText).optional(),
  limit: z.number().int().min(1).max(100).default(50),
});
export type RestrictionsInput = z.infer<typeof RestrictionsInput>;

export interface RoomRestrictions {
  /** Bans in force (expired ones are left out), for moderators and up (ROOM_PERMISSIONS `ban`). */
  bans(userId: string, input: RestrictionsInput): Promise<Page<RoomRestriction>>;
  /** Mutes in force, for moderators and up (ROOM_PERMISSIONS `mute`). */
  mutes(userId: string, input: RestrictionsInput): Promise<Page<RoomRestriction>>;
}

export function createRoomRestrictions(deps: { database: Database; clock: Clock }): RoomRestrictions {
  const { db } = deps.database;

  async function list(table: typeof roomBans | typeof roomMutes, input: RestrictionsInput): Promise<Page<RoomRestriction>> {
    const now = deps.clock.now();
    const by = table === roomBans ? roomBans.bannedBy : roomMutes.mutedBy;
    // The cursor keeps created_at as Postgres prints it: a JS Date would drop the microseconds and repeat rows.
    const before = input.cursor ?? null;
    const rows = await db
      .select({
        user: { id: users.id, username: users.username, displayName: users.displayName },
        byUserId: by,
        reason: table.reason,
        expiresAt: table.expiresAt,
        createdAt: table.createdAt,
        createdAtKey: sql<string>`${table.createdAt}::text`,
      })
      .from(table)
      .innerJoin(users, eq(users.id, table.userId))
      .where(
        and(
          eq(table.roomId, input.roomId),
          or(isNull(table.expiresAt), gt(table.expiresAt, now)),
          before ? sql`(${table.createdAt}, ${table.userId}) < (${before[0]}::timestamptz, ${before[1]}::uuid)` : undefined,
        ),
      )
      .orderBy(desc(table.createdAt), desc(table.userId))
      .limit(input.limit + 1);
    const last = rows.length > input.limit ? rows[input.limit - 1] : undefined;
    return {
      items: rows.slice(0, input.limit).map((row) => ({
        user: row.user,
        byUserId: row.byUserId,
        reason: row.reason,
        expiresAt: row.expiresAt?.toISOString() ?? null,
        createdAt: row.createdAt.toISOString(),
      })),
      nextCursor: last ? encodeCursor([last.createdAtKey, last.user.id]) : null,
    };
  }

  return {
    async bans(userId, input) {
      const { role } = await findMemberRoom(db, userId, input.roomId);
      requirePermission(role, "ban");
      return list(roomBans, input);
    },
    async mutes(userId, input) {
      const { role } = await findMemberRoom(db, userId, input.roomId);
      requirePermission(role, "mute");
      return list(roomMutes, input);
    },
  };
}
