import { and, eq, exists, inArray, notExists, or } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "../../infra/db/database.ts";
import { roomMembers, userBlocks, users } from "../../infra/db/schema.ts";

const sharedRoom = alias(roomMembers, "shared_room");

/**
 * Which of `userIds` the caller may see the presence of — themselves, and anyone sharing at least one room with
 * them (the same people who hear their presence events) — with each one's persisted last seen. One query.
 * Nobody sees the presence of someone they blocked or who blocked them (their events are screened the same way).
 */
export async function visibleUsers(db: Db, callerId: string, userIds: string[]): Promise<Map<string, Date | null>> {
  const rows = await db
    .select({ id: users.id, lastSeenAt: users.lastSeenAt })
    .from(users)
    .where(
      and(
        inArray(users.id, userIds),
        or(
          eq(users.id, callerId),
          and(
            exists(
              db
                .select({ roomId: roomMembers.roomId })
                .from(roomMembers)
                .innerJoin(sharedRoom, and(eq(sharedRoom.roomId, roomMembers.roomId), eq(sharedRoom.userId, callerId)))
                .where(eq(roomMembers.userId, users.id)),
            ),
            notExists(
              db
                .select({ blockerId: userBlocks.blockerId })
                .from(userBlocks)
                .where(
                  or(
                    and(eq(userBlocks.blockerId, callerId), eq(userBlocks.blockedId, users.id)),
                    and(eq(userBlocks.blockerId, users.id), eq(userBlocks.blockedId, callerId)),
                  ),
                ),
            ),
          ),
        ),
      ),
    );
  return new Map(rows.map((row) => [row.id, row.lastSeenAt]));
}
