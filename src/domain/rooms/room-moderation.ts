import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { BucketRule } from "../../config.ts";
import type { Database, Db } from "../../infra/db/database.ts";
import { roomBans, roomInvitations, roomMembers, roomMutes } from "../../infra/db/schema.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher, LoggedRoomEvent } from "../events.ts";
import { plainText } from "../plain-text.ts";
import type { RoomLog } from "../room-log/room-log.ts";
import { requireOutranks, requirePermission } from "./permissions.ts";
import { recordAudit } from "./room-audit.ts";
import { activeBan, activeMute } from "./room-bans.ts";
import { findMemberRoom, findUser, refuseDirect, requireTargetRole, roleIn } from "./room-access.ts";
import { type MemberRole, type Room, RoomId } from "./rooms.schema.ts";

/** Why, in the moderator's words: shown to other moderators (rooms.bans, rooms.mutes, rooms.auditLog). */
const reason = z
  .string()
  .transform((value) => value.normalize("NFC").trim())
  .pipe(z.string().check(plainText({ field: "reason", lines: "many" })).max(500, "reason must be at most 500 characters"));

/** A minute to a year; without it the restriction holds until lifted. */
const durationSeconds = z.number().int().min(60).max(31_536_000);

export const BanInput = z.strictObject({ roomId: RoomId, userId: z.uuid(), reason: reason.optional(), durationSeconds: durationSeconds.optional() });
export type BanInput = z.infer<typeof BanInput>;
export const MuteInput = BanInput;
export type MuteInput = BanInput;
/** rooms.unban, rooms.unmute. */
export const RestrictionTarget = z.strictObject({ roomId: RoomId, userId: z.uuid() });
export type RestrictionTarget = z.infer<typeof RestrictionTarget>;

/**
 * Bans and mutes. Both are decided under the room's lock — the lock sends, reactions, edits and every way in take —
 * so a ban and a join (or a send) never both win: whichever takes the lock second sees the other. A ban of a member
 * removes them in the same transaction (`member.left` reason "banned"), and their sockets on every instance drop
 * the room (`room.membership` banned on their user topic). Each act is audited in its transaction.
 */
export interface RoomModeration {
  ban(userId: string, input: BanInput): Promise<void>;
  unban(userId: string, input: RestrictionTarget): Promise<void>;
  mute(userId: string, input: MuteInput): Promise<void>;
  unmute(userId: string, input: RestrictionTarget): Promise<void>;
}

export interface RoomModerationDeps {
  database: Database;
  events: EventPublisher;
  log: Pick<RoomLog, "append" | "announce">;
  clock: Clock;
  logger: Logger;
  rateLimiter: RateLimiter;
  rates: { moderation: BucketRule };
}

/** One bucket per moderator for bans, unbans, mutes, unmutes and kicks: each reaches every member. */
export async function enforceModerationRate(deps: Pick<RoomModerationDeps, "rateLimiter" | "rates">, userId: string): Promise<void> {
  const decision = await deps.rateLimiter.consume(`moderation:${userId}`, deps.rates.moderation);
  if (!decision.allowed) throw new DomainError("TOO_MANY_REQUESTS", "too many moderation acts; try again later", decision.retryAfterSeconds);
}

export function createRoomModeration(deps: RoomModerationDeps): RoomModeration {
  const { db } = deps.database;

  function expiryOf(input: { durationSeconds?: number | undefined }): Date | null {
    return input.durationSeconds === undefined ? null : new Date(deps.clock.now().getTime() + input.durationSeconds * 1000);
  }

  /** The room under its lock, for a moderator allowed `action`, never a direct room, never aimed at oneself. */
  async function moderatedRoom(tx: Db, actorId: string, input: RestrictionTarget, action: "ban" | "mute"): Promise<{ room: Room; role: MemberRole }> {
    const { room, role } = await findMemberRoom(tx, actorId, input.roomId, { lock: "room" });
    refuseDirect(room, action === "ban" ? "have members banned" : "have members muted");
    requirePermission(role, action);
    if (input.userId === actorId) throw new DomainError("BAD_REQUEST", `you cannot ${action} yourself`);
    return { room, role };
  }

  /** After the commit: the room hears the event; for a ban, the banned user's sockets drop the room. */
  async function announce(event: LoggedRoomEvent, room: Room, removedUserId: string | null): Promise<void> {
    const published = [deps.log.announce([event])];
    if (removedUserId !== null) {
      const now = { ...room, lastSeq: event.seq };
      published.push(deps.events.toUser(removedUserId, { type: "room.membership", roomId: room.id, membership: "banned", room: now }));
    }
    const results = await Promise.allSettled(published);
    // The change is committed: a failed publish is logged (sockets that missed it reconcile on resume), not thrown.
    for (const result of results) {
      if (result.status === "rejected") deps.logger.error("moderation event not published", { type: event.type, roomId: room.id, error: result.reason });
    }
  }

  return {
    async ban(actorId, input) {
      await enforceModerationRate(deps, actorId);
      const expiresAt = expiryOf(input);
      const done = await db.transaction(async (tx) => {
        const { room, role } = await moderatedRoom(tx, actorId, input, "ban");
        await findUser(tx, input.userId);
        // A non-member may be banned before they ever come in: the rank rule then has nobody to weigh.
        const targetRole = await roleIn(tx, room.id, input.userId);
        requireOutranks(role, targetRole, "ban");
        const values = { bannedBy: actorId, reason: input.reason ?? null, expiresAt, createdAt: sql`now()` };
        await tx
          .insert(roomBans)
          .values({ roomId: room.id, userId: input.userId, ...values })
          .onConflictDoUpdate({ target: [roomBans.roomId, roomBans.userId], set: values });
        // A pending invitation would be a way back in.
        await tx.delete(roomInvitations).where(and(eq(roomInvitations.roomId, room.id), eq(roomInvitations.inviteeId, input.userId)));
        let seq: number | null = null;
        if (targetRole !== null) {
          await tx.delete(roomMembers).where(and(eq(roomMembers.roomId, room.id), eq(roomMembers.userId, input.userId)));
          [seq = null] = await deps.log.append(tx, room.id, [{ type: "member.left", data: { userId: input.userId, reason: "banned" }, actorId }]);
        }
        await recordAudit(tx, {
          roomId: room.id,
          seq,
          action: "member.banned",
          actorId,
          targetUserId: input.userId,
          reason: input.reason ?? null,
          data: { role: targetRole, expiresAt: expiresAt?.toISOString() ?? null },
        });
        return { room, seq };
      });
      if (done.seq === null) return;
      await announce({ type: "member.left", roomId: done.room.id, seq: done.seq, userId: input.userId, reason: "banned" }, done.room, input.userId);
    },

    async unban(actorId, input) {
      await enforceModerationRate(deps, actorId);
      await db.transaction(async (tx) => {
        const { room, role } = await findMemberRoom(tx, actorId, input.roomId, { lock: "room" });
        requirePermission(role, "ban");
        if (!(await activeBan(tx, room.id, input.userId, deps.clock.now()))) {
          throw new DomainError("NOT_FOUND", "that user is not banned from this room");
        }
        await tx.delete(roomBans).where(and(eq(roomBans.roomId, room.id), eq(roomBans.userId, input.userId)));
        // No room event: the unbanned user is no member, and nothing in the room changed.
        await recordAudit(tx, { roomId: room.id, seq: null, action: "member.unbanned", actorId, targetUserId: input.userId, data: null });
      });
    },

    async mute(actorId, input) {
      await enforceModerationRate(deps, actorId);
      const expiresAt = expiryOf(input);
      const until = expiresAt?.toISOString() ?? null;
      const done = await db.transaction(async (tx) => {
        const { room, role } = await moderatedRoom(tx, actorId, input, "mute");
        const targetRole = await requireTargetRole(tx, room.id, input.userId);
        requireOutranks(role, targetRole, "mute");
        const values = { mutedBy: actorId, reason: input.reason ?? null, expiresAt, createdAt: sql`now()` };
        await tx
          .insert(roomMutes)
          .values({ roomId: room.id, userId: input.userId, ...values })
          .onConflictDoUpdate({ target: [roomMutes.roomId, roomMutes.userId], set: values });
        const [seq] = await deps.log.append(tx, room.id, [{ type: "member.muted", data: { userId: input.userId, until, byUserId: actorId }, actorId }]);
        await recordAudit(tx, {
          roomId: room.id,
          seq: seq as number,
          action: "member.muted",
          actorId,
          targetUserId: input.userId,
          reason: input.reason ?? null,
          data: { expiresAt: until },
        });
        return { room, seq: seq as number };
      });
      await announce({ type: "member.muted", roomId: done.room.id, seq: done.seq, userId: input.userId, until, byUserId: actorId }, done.room, null);
    },

    async unmute(actorId, input) {
      await enforceModerationRate(deps, actorId);
      const done = await db.transaction(async (tx) => {
        const { room, role } = await findMemberRoom(tx, actorId, input.roomId, { lock: "room" });
        requirePermission(role, "mute");
        if (!(await activeMute(tx, room.id, input.userId, deps.clock.now()))) {
          throw new DomainError("NOT_FOUND", "that user is not muted in this room");
        }
        // A mute outlives leaving; a former member has no rank to weigh.
        requireOutranks(role, await roleIn(tx, room.id, input.userId), "unmute");
        await tx.delete(roomMutes).where(and(eq(roomMutes.roomId, room.id), eq(roomMutes.userId, input.userId)));
        const [seq] = await deps.log.append(tx, room.id, [{ type: "member.unmuted", data: { userId: input.userId, byUserId: actorId }, actorId }]);
        await recordAudit(tx, { roomId: room.id, seq: seq as number, action: "member.unmuted", actorId, targetUserId: input.userId, data: null });
        return { room, seq: seq as number };
      });
      await announce({ type: "member.unmuted", roomId: done.room.id, seq: done.seq, userId: input.userId, byUserId: actorId }, done.room, null);
    },
  };
}
