import { and, count, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { roomMembers, rooms, users } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";

export interface RoomCapacity {
  /** ROOM_MAX_MEMBERS: the limit of rooms without a maxMembers setting of their own. */
  roomMaxMembers: number;
  /** USER_MAX_ROOMS. */
  userMaxRooms: number;
}

/**
 * Checks, inside the transaction that is about to add `userIds` to a room, that the room (when given: the caller
 * holds its row lock, as every membership change does) has a seat for each of them and that none of them is at
 * USER_MAX_ROOMS. The users' rows are locked (in id order, after the room: the order every membership change
 * takes), so two concurrent joins of one user cannot both take that user's last seat.
 */
export async function requireCapacity(
  tx: Db,
  capacity: RoomCapacity,
  seats: { roomId: string | null; userIds: readonly string[] },
): Promise<void> {
  const userIds = [...new Set(seats.userIds)].sort();
  if (userIds.length === 0) return;
  await tx.select({ id: users.id }).from(users).where(inArray(users.id, userIds)).orderBy(users.id).for("no key update");
  if (seats.roomId !== null) {
    const [room] = await tx.select({ members: rooms.memberCount, maxMembers: rooms.maxMembers }).from(rooms).where(eq(rooms.id, seats.roomId));
    // The room's own limit (rooms.update maxMembers) when it has one. Lowered below the count, it removes nobody:
    // it only keeps newcomers out until enough have left.
    const limit = room?.maxMembers ?? capacity.roomMaxMembers;
    const [already] = await tx
      .select({ members: count() })
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, seats.roomId), inArray(roomMembers.userId, userIds)));
    const newcomers = userIds.length - (already?.members ?? 0);
    if (newcomers > 0 && (room?.members ?? 0) + newcomers > limit) {
      throw new DomainError("FORBIDDEN", `this room is full (${limit} members)`, { reason: "ROOM_FULL" });
    }
  }
  const busy = await tx
    .select({ userId: roomMembers.userId, rooms: count() })
    .from(roomMembers)
    .where(and(inArray(roomMembers.userId, userIds), seats.roomId === null ? undefined : sql`${roomMembers.roomId} <> ${seats.roomId}`))
    .groupBy(roomMembers.userId)
    .having(sql`count(*) >= ${capacity.userMaxRooms}`);
  if (busy.length > 0) {
    throw new DomainError("FORBIDDEN", `a user can be in at most ${capacity.userMaxRooms} rooms`, { reason: "ROOM_LIMIT" });
  }
}
