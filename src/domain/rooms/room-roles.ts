import { and, eq, ne, sql } from "drizzle-orm";
import type { BucketRule } from "../../config.ts";
import type { Database, Db } from "../../infra/db/database.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import { roomMembers } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { LoggedRoomEvent } from "../events.ts";
import type { EventDraft } from "../room-log/event-rows.ts";
import type { RoomLog } from "../room-log/room-log.ts";
import { recordAudit, type RoomAuditDraft } from "./room-audit.ts";
import { requireGrantable, requireOutranks, requirePermission } from "./permissions.ts";
import { findMemberRoom, refuseDirect, requireTargetRole } from "./room-access.ts";
import type { MemberRole, SetRoleInput } from "./rooms.schema.ts";

/**
 * Who holds which role. Each change is a `member.role` event in the room's log, taken under the room's lock — the
 * lock leave and kick take — so the owner count every rule reads cannot change underneath it.
 */
export interface RoomRoleChanges {
  setRole(userId: string, input: SetRoleInput): Promise<void>;
  transferOwnership(userId: string, input: { roomId: string; userId: string }): Promise<void>;
}

type RoleChange = { userId: string; role: MemberRole };

export function createRoomRoleChanges(deps: {
  database: Database;
  log: Pick<RoomLog, "append" | "announce">;
  rateLimiter: RateLimiter;
  rates: { roleChanges: BucketRule };
}): RoomRoleChanges {
  const { db } = deps.database;

  /** Each change reaches every member: setRole and transferOwnership share one per-user bucket. */
  async function enforceRate(userId: string): Promise<void> {
    const decision = await deps.rateLimiter.consume(`role-changes:${userId}`, deps.rates.roleChanges);
    if (!decision.allowed) throw new DomainError("TOO_MANY_REQUESTS", "too many role changes; try again later", decision.retryAfterSeconds);
  }

  /** Gives the roles, in order, with one event each; then announces them after the commit. */
  /** What a decision does: the roles to give, and the one audit entry for them all (none when nothing changes). */
  type Decision = { changes: RoleChange[]; audit: RoomAuditDraft } | { changes: []; audit: null };

  async function commit(roomId: string, actorId: string, decide: (tx: Db) => Promise<Decision>): Promise<void> {
    await enforceRate(actorId);
    const committed = await db.transaction(async (tx) => {
      const { changes, audit } = await decide(tx);
      for (const change of changes) {
        await tx
          .update(roomMembers)
          .set({ role: change.role })
          .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, change.userId)));
      }
      const drafts = changes.map((change): EventDraft => ({ type: "member.role", data: { ...change, byUserId: actorId }, actorId }));
      const seqs = await deps.log.append(tx, roomId, drafts);
      // The entry accompanies the decision's first event: the new owner's, for a transfer.
      if (audit) await recordAudit(tx, { ...audit, roomId, seq: seqs[0] ?? null });
      return { changes, seqs };
    });
    if (committed.changes.length === 0) return;
    await deps.log.announce(
      committed.changes.map((change, index): LoggedRoomEvent => ({
        type: "member.role",
        roomId,
        seq: committed.seqs[index] as number,
        ...change,
        byUserId: actorId,
      })),
    );
  }

  async function otherOwners(tx: Db, roomId: string, userId: string): Promise<number> {
    const [row] = await tx
      .select({ count: sql<number>`count(*)`.mapWith(Number) })
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, roomId), ne(roomMembers.userId, userId), eq(roomMembers.role, "owner")));
    return row?.count ?? 0;
  }

  return {
    async setRole(userId, input) {
      await commit(input.roomId, userId, async (tx) => {
        const { room, role } = await findMemberRoom(tx, userId, input.roomId, { lock: "room" });
        refuseDirect(room, "have roles");
        requirePermission(role, "setRoles");
        const current = await requireTargetRole(tx, room.id, input.userId);
        // Stepping down needs no one above you: anyone allowed to set roles may lower their own.
        if (input.userId !== userId) requireOutranks(role, current, "change the roles of");
        if (input.role === current) return { changes: [], audit: null };
        requireGrantable(role, input.role);
        if (current === "owner" && (await otherOwners(tx, room.id, input.userId)) === 0) {
          throw new DomainError("CONFLICT", "a room keeps at least one owner: make another member owner first", { reason: "LAST_OWNER" });
        }
        return {
          changes: [{ userId: input.userId, role: input.role }],
          audit: { action: "role.changed", actorId: userId, targetUserId: input.userId, data: { from: current, to: input.role } },
        };
      });
    },

    async transferOwnership(userId, input) {
      await commit(input.roomId, userId, async (tx) => {
        const { room, role } = await findMemberRoom(tx, userId, input.roomId, { lock: "room" });
        refuseDirect(room, "have owners");
        requirePermission(role, "transferOwnership");
        if (input.userId === userId) throw new DomainError("BAD_REQUEST", "you already own this room: name the member to hand it to");
        const current = await requireTargetRole(tx, room.id, input.userId);
        // The new owner first: at no seq is the room without one.
        const handedOver: RoleChange[] = current === "owner" ? [] : [{ userId: input.userId, role: "owner" }];
        return {
          changes: [...handedOver, { userId, role: "admin" }],
          audit: { action: "ownership.transferred", actorId: userId, targetUserId: input.userId, data: { from: current } },
        };
      });
    },
  };
}
