import { and, desc, eq, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { z } from "zod";
import type { Database, Db } from "../../infra/db/database.ts";
import { roomAudit, users } from "../../infra/db/schema.ts";
import type { UserPublic } from "../users/users.schema.ts";
import { encodeCursor, pageCursor, PgTimestampText } from "./page-cursor.ts";
import { requirePermission } from "./permissions.ts";
import { findMemberRoom } from "./room-access.ts";
import type { MemberRole, Page, RoomSettings } from "./rooms.schema.ts";

/** A field of the room's settings as it was and as it became. */
export interface SettingChange<T> {
  from: T;
  to: T;
}

/**
 * What each audited act records beyond actor and target (the reason, when one was given, is the entry's `reason`);
 * new settings join `RoomSettingsChanges`.
 */
export type RoomAuditRecord =
  /** rooms.setRole; the target is the member. */
  | { action: "role.changed"; data: { from: MemberRole; to: MemberRole } }
  /** rooms.transferOwnership; the target is the new owner (`from`: their role before), the actor became admin. */
  | { action: "ownership.transferred"; data: { from: MemberRole } }
  /** rooms.kick; the target is who was removed, with the role they had. */
  | { action: "member.kicked"; data: { role: MemberRole } }
  /** rooms.update: only the fields that changed. */
  | { action: "room.updated"; data: RoomSettingsChanges }
  /** rooms.ban; the target is who was banned (`role`: theirs when banned, null when not a member then). */
  | { action: "member.banned"; data: { role: MemberRole | null; expiresAt: string | null } }
  /** rooms.mute; the target is the muted member. */
  | { action: "member.muted"; data: { expiresAt: string | null } }
  /** rooms.unban, rooms.unmute; the target is who was let back in or may speak again. */
  | { action: "member.unbanned" | "member.unmuted"; data: null }
  /**
   * moderation.resolve; the target is the reported person or message. The act itself (delete, mute, ban, kick) has
   * its own entry; `reportIds` are every open report about the target it closed.
   */
  | { action: "report.resolved"; data: { resolution: ReportResolution; reportIds: string[] } }
  /** The target is the message and its sender; nothing of its body is kept. */
  | { action: "message.pinned" | "message.unpinned" | "message.deleted"; data: null };

export type RoomAuditAction = RoomAuditRecord["action"];

/** What a moderator did about a report (moderation.resolve). */
export type ReportResolution = "dismiss" | "delete" | "mute" | "ban" | "kick";

export interface RoomSettingsChanges {
  name?: SettingChange<string>;
  description?: SettingChange<string>;
  avatarFileId?: SettingChange<string | null>;
  maxMembers?: SettingChange<number | null>;
  historyVisibility?: SettingChange<RoomSettings["historyVisibility"]>;
  postPolicy?: SettingChange<RoomSettings["postPolicy"]>;
  attachmentsAllowed?: SettingChange<boolean>;
  slowModeSeconds?: SettingChange<number>;
  membersCanInvite?: SettingChange<boolean>;
}

/** One act to record, in the transaction that makes it. */
export type RoomAuditDraft = RoomAuditRecord & {
  actorId: string;
  targetUserId?: string | null;
  targetMessageId?: string | null;
  reason?: string | null;
};

/** One entry of `rooms.auditLog`, newest first. */
export type RoomAuditEntry = RoomAuditRecord & {
  id: string;
  /** Null once the account is gone. */
  actor: UserPublic | null;
  /** `user` is left out once their account is gone; `messageId` once the message row is. */
  target: { user?: UserPublic; messageId?: string };
  reason: string | null;
  /** Seq of the room event this act accompanies (null for acts that are no room event). */
  seq: number | null;
  at: string;
};

/** Entries page by (created_at, id), newest first. */
export const AuditLogInput = z.strictObject({
  roomId: z.uuid(),
  cursor: pageCursor(PgTimestampText).optional(),
  limit: z.number().int().min(1).max(100).default(50),
});
export type AuditLogInput = z.infer<typeof AuditLogInput>;

/**
 * Records an act in the room's audit log. Call it inside the transaction that makes the change, after the change's
 * room event is appended: a change refused or rolled back leaves no entry, and no entry exists without its change.
 */
export async function recordAudit(tx: Db, entry: RoomAuditDraft & { roomId: string; seq: number | null }): Promise<void> {
  await tx.insert(roomAudit).values({
    roomId: entry.roomId,
    seq: entry.seq,
    action: entry.action,
    actorId: entry.actorId,
    targetUserId: entry.targetUserId ?? null,
    targetMessageId: entry.targetMessageId ?? null,
    reason: entry.reason ?? null,
    data: entry.data,
  });
}

/** The fields of `next` that differ from `previous`, old → new. */
export function settingsChanges<T extends Record<string, string | number | boolean | null>>(previous: T, next: Partial<T>): { [K in keyof T]?: SettingChange<T[K]> } {
  const changes: { [K in keyof T]?: SettingChange<T[K]> } = {};
  for (const key of Object.keys(next) as (keyof T)[]) {
    const to = next[key];
    if (to !== undefined && to !== previous[key]) changes[key] = { from: previous[key], to };
  }
  return changes;
}

export interface RoomAuditLog {
  /** Moderators and up (ROOM_PERMISSIONS `readAuditLog`); FORBIDDEN "not a member of this room" for outsiders. */
  auditLog(userId: string, input: AuditLogInput): Promise<Page<RoomAuditEntry>>;
}

const actors = alias(users, "audit_actors");
const targets = alias(users, "audit_targets");

export function createRoomAuditLog(deps: { database: Database }): RoomAuditLog {
  const { db } = deps.database;
  return {
    async auditLog(userId, input) {
      const { role } = await findMemberRoom(db, userId, input.roomId);
      requirePermission(role, "readAuditLog");
      // The cursor keeps created_at as Postgres prints it: a JS Date would drop the microseconds and repeat rows.
      const before = input.cursor ?? null;
      const rows = await db
        .select({
          id: roomAudit.id,
          seq: roomAudit.seq,
          action: roomAudit.action,
          reason: roomAudit.reason,
          data: roomAudit.data,
          targetMessageId: roomAudit.targetMessageId,
          createdAt: roomAudit.createdAt,
          createdAtKey: sql<string>`${roomAudit.createdAt}::text`,
          actor: { id: actors.id, username: actors.username, displayName: actors.displayName },
          targetUser: { id: targets.id, username: targets.username, displayName: targets.displayName },
        })
        .from(roomAudit)
        .leftJoin(actors, eq(actors.id, roomAudit.actorId))
        .leftJoin(targets, eq(targets.id, roomAudit.targetUserId))
        .where(
          and(
            eq(roomAudit.roomId, input.roomId),
            before ? sql`(${roomAudit.createdAt}, ${roomAudit.id}) < (${before[0]}::timestamptz, ${before[1]}::uuid)` : undefined,
          ),
        )
        .orderBy(desc(roomAudit.createdAt), desc(roomAudit.id))
        .limit(input.limit + 1);
      const last = rows.length > input.limit ? rows[input.limit - 1] : undefined;
      return {
        items: rows.slice(0, input.limit).map((row) => {
          const target: RoomAuditEntry["target"] = {};
          if (row.targetUser) target.user = row.targetUser;
          if (row.targetMessageId) target.messageId = row.targetMessageId;
          // Written only by recordAudit from a RoomAuditRecord: the row's action and data are one of its members.
          const record = { action: row.action, data: row.data } as RoomAuditRecord;
          return { id: row.id, ...record, actor: row.actor, target, reason: row.reason, seq: row.seq, at: row.createdAt.toISOString() };
        }),
        nextCursor: last ? encodeCursor([last.createdAtKey, last.id]) : null,
      };
    },
  };
}
