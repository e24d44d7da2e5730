import { and, asc, eq, ne, sql } from "drizzle-orm";
import type { Database, Db } from "../../infra/db/database.ts";
import { files, roomMembers, rooms } from "../../infra/db/schema.ts";
import type { Logger } from "../../lib/logger.ts";
import type { LoggedRoomEvent } from "../events.ts";
import { disposeFiles } from "../files/file-disposal.ts";
import type { EventDraft } from "../room-log/event-rows.ts";
import type { RoomLog } from "../room-log/room-log.ts";
import { recordAudit } from "./room-audit.ts";
import { findRoomForUser } from "./room-access.ts";
import type { MemberRole } from "./rooms.schema.ts";

/** How a deleted account leaves the rooms it was in (auth.deleteAccount). */
export interface AccountDeparture {
  /**
   * Takes the account out of every room, one room (and its lock) at a time, through the rules of leaving: a
   * `member.left` each; the last owner of a room with members first hands it to the longest-standing admin, else
   * moderator, else member (`member.role`, audited as `ownership.transferred` with reason "account deleted"); the
   * last member out deletes the room. Direct rooms are left like any other: the other side keeps the conversation.
   * Resolves with the rooms it could not leave (each failure logged); the caller reports them.
   */
  leaveEveryRoom(userId: string): Promise<{ failed: number }>;
}

/** Successors, best first: the highest rank below owner, then whoever joined first. */
const SUCCESSION = sql`case ${roomMembers.role} when 'admin' then 0 when 'moderator' then 1 else 2 end`;

export function createAccountDeparture(deps: {
  database: Database;
  log: Pick<RoomLog, "append" | "announce" | "forget">;
  logger: Logger;
}): AccountDeparture {
  const { db } = deps.database;

  async function successor(tx: Db, roomId: string, userId: string): Promise<{ userId: string; role: MemberRole } | null> {
    const [row] = await tx
      .select({ userId: roomMembers.userId, role: roomMembers.role })
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, roomId), ne(roomMembers.userId, userId)))
      .orderBy(SUCCESSION, asc(roomMembers.joinedAt), asc(roomMembers.userId))
      .limit(1);
    return row ?? null;
  }

  /** One room: what to announce after its commit, or "deleted" when the account was its last member. */
  async function leave(userId: string, roomId: string): Promise<LoggedRoomEvent[] | "deleted"> {
    return db.transaction(async (tx) => {
      const found = await findRoomForUser(tx, userId, roomId, { lock: "room" });
      if (!found || found.role === null) return []; // gone or left meanwhile
      const [others] = await tx
        .select({
          members: sql<number>`count(*)`.mapWith(Number),
          owners: sql<number>`count(*) filter (where ${roomMembers.role} = 'owner')`.mapWith(Number),
        })
        .from(roomMembers)
        .where(and(eq(roomMembers.roomId, roomId), ne(roomMembers.userId, userId)));
      if (!others || others.members === 0) {
        // Its files go too: their rows with the room, their objects through the outbox.
        await disposeFiles(tx, eq(files.roomId, roomId), `files.deleteObjects:room:${roomId}`);
        await tx.delete(rooms).where(eq(rooms.id, roomId));
        return "deleted";
      }
      const drafts: EventDraft[] = [];
      const heir = found.role === "owner" && others.owners === 0 ? await successor(tx, roomId, userId) : null;
      if (heir) {
        // The new owner first: at no seq is the room without one.
        await tx
          .update(roomMembers)
          .set({ role: "owner" })
          .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, heir.userId)));
        drafts.push({ type: "member.role", data: { userId: heir.userId, role: "owner", byUserId: userId }, actorId: userId });
      }
      await tx.delete(roomMembers).where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
      drafts.push({ type: "member.left", data: { userId, reason: "left" }, actorId: userId });
      const seqs = await deps.log.append(tx, roomId, drafts);
      const events: LoggedRoomEvent[] = [];
      if (heir) {
        const seq = seqs[0] as number;
        await recordAudit(tx, {
          roomId,
          seq,
          action: "ownership.transferred",
          actorId: userId,
          targetUserId: heir.userId,
          data: { from: heir.role },
          reason: "account deleted",
        });
        events.push({ type: "member.role", roomId, seq, userId: heir.userId, role: "owner", byUserId: userId });
      }
      events.push({ type: "member.left", roomId, seq: seqs.at(-1) as number, userId, reason: "left" });
      return events;
    });
  }

  return {
    async leaveEveryRoom(userId) {
      const memberships = await db.select({ roomId: roomMembers.roomId }).from(roomMembers).where(eq(roomMembers.userId, userId));
      let failed = 0;
      for (const { roomId } of memberships) {
        try {
          const outcome = await leave(userId, roomId);
          if (outcome === "deleted") await deps.log.forget(roomId);
          else await deps.log.announce(outcome);
        } catch (error) {
          failed++;
          deps.logger.error("deleted account could not leave a room", { userId, roomId, error });
        }
      }
      return { failed };
    },
  };
}
