import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { friendships, roomMembers, rooms, users } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { requireNotBlocked } from "../users/blocking.ts";
import { findUser, roomColumns, toRoom } from "./room-access.ts";
import { requireCapacity } from "./room-capacity.ts";
import type { RoomAdmission, RoomMembershipDeps } from "./room-membership.ts";
import type { Room } from "./rooms.schema.ts";

export interface DirectRooms {
  openDirect(userId: string, otherUserId: string): Promise<Room>;
}

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

export function createDirectRooms(deps: RoomMembershipDeps & { admission: RoomAdmission }): DirectRooms {
  const { db } = deps.database;

  async function findDirectRoom(directKey: string): Promise<Room | null> {
    const [row] = await db.select(roomColumns).from(rooms).where(eq(rooms.directKey, directKey));
    return row ? toRoom(row) : null;
  }

  return {
    async openDirect(userId, otherUserId) {
      if (userId === otherUserId) throw new DomainError("BAD_REQUEST", "you cannot open a direct room with yourself");
      await findUser(db, otherUserId);
      const directKey = [userId, otherUserId].sort().join(":");
      const existing = await findDirectRoom(directKey);
      if (existing) {
        // An existing conversation stays open to a later DM policy, but not to a block.
        await requireNotBlocked(db, userId, otherUserId, "open a direct room with");
        await unhideDirectRoom(db, existing.id, userId);
        return existing;
      }
      await requireMayOpenDirect(db, userId, otherUserId);
      // Only opening a new conversation is charged: going back to an existing one is free.
      await deps.admission.enforceRate("openDirect", userId);
      const created = await db.transaction(async (tx) => {
        await requireCapacity(tx, deps.limits, { roomId: null, userIds: [userId, otherUserId] });
        // A concurrent openDirect for the same pair waits on the unique direct_key, then inserts nothing.
        const [row] = await tx
          .insert(rooms)
          .values({ kind: "direct", name: "", directKey, createdBy: userId })
          .onConflictDoNothing({ target: rooms.directKey })
          .returning(roomColumns);
        if (!row) return null;
        await tx.insert(roomMembers).values([
          { roomId: row.id, userId, role: "member" },
          { roomId: row.id, userId: otherUserId, role: "member" },
        ]);
        return toRoom(row);
      });
      if (!created) {
        const winner = await findDirectRoom(directKey);
        if (!winner) throw new Error("direct room vanished after a conflicting insert");
        await requireNotBlocked(db, userId, otherUserId, "open a direct room with");
        await unhideDirectRoom(db, winner.id, userId);
        return winner;
      }
      await deps.admission.announce(
        [userId, otherUserId].map((id) => ({
          toUser: id,
          event: { type: "room.membership", roomId: created.id, membership: "joined", room: created } as const,
        })),
      );
      return created;
    },
  };
}
