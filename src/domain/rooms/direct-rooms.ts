import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { friendships, roomMembers, rooms, users } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { requireNotBlocked } from "../users/blocking.ts";

/**
 * Whether `userId` may open a new direct room with `otherUserId`: FORBIDDEN reason BLOCKED when either blocked the
 * other (never saying who), reason DM_POLICY when the other accepts direct rooms from nobody, or from friends only
 * and `userId` is not theirs. Only new conversations ask the policy: one already open stays usable.
 */
export async function requireMayOpenDirect(db: Db, userId: string, otherUserId: string): Promise<void> {
  await requireNotBlocked(db, userId, otherUserId, "open a direct room with");
  const [other] = await db
    .select({
      dmPolicy: users.dmPolicy,
      isFriend: sql<boolean>`exists (select 1 from ${friendships} where ${friendships.userId} = ${otherUserId} and ${friendships.friendId} = ${userId})`,
    })
    .from(users)
    .where(eq(users.id, otherUserId));
  if (!other) throw new DomainError("NOT_FOUND", "no such user");
  if (other.dmPolicy === "nobody" || (other.dmPolicy === "friends" && !other.isFriend)) {
    throw new DomainError("FORBIDDEN", "this user does not accept direct rooms from you", { reason: "DM_POLICY" });
  }
}

/**
 * Hides a direct room from the member's `rooms.list` until a message after everything in it now: they stay a member
 * (their sockets stay attached, the other person still reaches them), only the list leaves it out.
 */
export async function hideDirectRoom(db: Db, roomId: string, userId: string): Promise<void> {
  await db
    .update(roomMembers)
    .set({ hiddenSeq: sql`(select ${rooms.lastSeq} from ${rooms} where ${rooms.id} = ${roomId})` })
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
}

/** Opening a direct room I hid shows it again at once. */
export async function unhideDirectRoom(db: Db, roomId: string, userId: string): Promise<void> {
  await db
    .update(roomMembers)
    .set({ hiddenSeq: null })
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId), sql`${roomMembers.hiddenSeq} is not null`));
}
