import { and, desc, eq, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { BucketRule } from "../../config.ts";
import type { Database } from "../../infra/db/database.ts";
import { messages, reports, users } from "../../infra/db/schema.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { MessageChanges } from "../messages/message-changes.ts";
import { encodeCursor } from "../rooms/page-cursor.ts";
import { requirePermission } from "../rooms/permissions.ts";
import { findMemberRoom, findUser } from "../rooms/room-access.ts";
import { recordAudit } from "../rooms/room-audit.ts";
import type { Page } from "../rooms/rooms.schema.ts";
import type { RoomService } from "../rooms/rooms.service.ts";
import type { Report, ReportInput, ReportReason, ReportResolution, ReportsInput, ResolveInput } from "./moderation.schema.ts";

/**
 * Reports about messages and people, for the moderators of the room they name (a report about a person without a
 * room is for the operator's queue only). Resolving one acts through the rooms' and messages' own services, so the
 * rank rule, the permission table and the audit log apply exactly as when a moderator acts directly.
 */
export interface ModerationService {
  /**
   * One open report per reporter and target (CONFLICT). A message report needs membership of its room; a person
   * report with `roomId` needs membership of that room. BAD_REQUEST for reporting yourself; NOT_FOUND for no such
   * message or user; TOO_MANY_REQUESTS past RATE_LIMIT_REPORT_PER_USER.
   */
  report(userId: string, input: ReportInput): Promise<{ reportId: string }>;
  /** The room's reports with the status asked, newest first; moderators and up (`handleReports`). */
  reports(userId: string, input: ReportsInput): Promise<Page<Report>>;
  /**
   * A moderator of the report's room acts (dismiss, delete the message, mute, ban or kick its target) and every open
   * report about the same target in the room is resolved with it. CONFLICT when the report is already resolved;
   * BAD_REQUEST for "delete" on a person report; the act's own refusals (rank, permission) as they are.
   */
  resolve(userId: string, input: ResolveInput): Promise<{ reportIds: string[] }>;
}

export interface ModerationServiceDeps {
  database: Database;
  rooms: Pick<RoomService, "ban" | "mute" | "kick">;
  messageChanges: Pick<MessageChanges, "delete">;
  rateLimiter: RateLimiter;
  clock: Clock;
  reportRate: BucketRule;
}

/** How much of a reported message's body moderators see in the list. */
const EXCERPT_CHARS = 200;

const reporters = alias(users, "reporters");
const targets = alias(users, "report_targets");

export function createModerationService(deps: ModerationServiceDeps): ModerationService {
  const { db } = deps.database;

  /** What a report is about: its key (one open report per reporter and key), room, person and message. */
  async function targetOf(userId: string, input: ReportInput): Promise<{ key: string; roomId: string | null; targetUserId: string; messageId: string | null }> {
    if (input.messageId !== undefined) {
      const [message] = await db.select({ roomId: messages.roomId, senderId: messages.senderId }).from(messages).where(eq(messages.id, input.messageId));
      if (!message) throw new DomainError("NOT_FOUND", "no such message");
      // Only what the reporter can see: the same answer as reading the message.
      await findMemberRoom(db, userId, message.roomId);
      if (input.roomId !== undefined && input.roomId !== message.roomId) throw new DomainError("BAD_REQUEST", "the message is in another room");
      if (message.senderId === userId) throw new DomainError("BAD_REQUEST", "you cannot report yourself");
      return { key: `message:${input.messageId}`, roomId: message.roomId, targetUserId: message.senderId, messageId: input.messageId };
    }
    const targetUserId = input.userId as string; // the schema allows exactly one of the two
    if (targetUserId === userId) throw new DomainError("BAD_REQUEST", "you cannot report yourself");
    await findUser(db, targetUserId);
    if (input.roomId !== undefined) await findMemberRoom(db, userId, input.roomId);
    return { key: `user:${targetUserId}`, roomId: input.roomId ?? null, targetUserId, messageId: null };
  }

  return {
    async report(userId, input) {
      const decision = await deps.rateLimiter.consume(`report:${userId}`, deps.reportRate);
      if (!decision.allowed) throw new DomainError("TOO_MANY_REQUESTS", "too many reports; try again later", decision.retryAfterSeconds);
      const target = await targetOf(userId, input);
      // reports_open_reporter_target_idx: a second open report about the same target inserts nothing.
      const [row] = await db
        .insert(reports)
        .values({
          reporterId: userId,
          roomId: target.roomId,
          messageId: target.messageId,
          targetUserId: target.targetUserId,
          targetKey: target.key,
          reason: input.reason,
          note: input.note ?? null,
        })
        .onConflictDoNothing()
        .returning({ id: reports.id });
      if (!row) throw new DomainError("CONFLICT", "you already reported this");
      return { reportId: row.id };
    },

    async reports(userId, input) {
      const { role } = await findMemberRoom(db, userId, input.roomId);
      requirePermission(role, "handleReports");
      const before = input.cursor ?? null;
      const rows = await db
        .select({
          id: reports.id,
          roomId: reports.roomId,
          reason: reports.reason,
          note: reports.note,
          status: reports.status,
          resolution: reports.resolution,
          resolvedBy: reports.resolvedBy,
          resolvedAt: reports.resolvedAt,
          createdAt: reports.createdAt,
          createdAtKey: sql<string>`${reports.createdAt}::text`,
          reporter: { id: reporters.id, username: reporters.username, displayName: reporters.displayName },
          targetUser: { id: targets.id, username: targets.username, displayName: targets.displayName },
          message: { id: messages.id, body: messages.body, deletedAt: messages.deletedAt },
        })
        .from(reports)
        .leftJoin(reporters, eq(reporters.id, reports.reporterId))
        .leftJoin(targets, eq(targets.id, reports.targetUserId))
        .leftJoin(messages, eq(messages.id, reports.messageId))
        .where(
          and(
            eq(reports.roomId, input.roomId),
            eq(reports.status, input.status),
            before ? sql`(${reports.createdAt}, ${reports.id}) < (${before[0]}::timestamptz, ${before[1]}::uuid)` : undefined,
          ),
        )
        .orderBy(desc(reports.createdAt), desc(reports.id))
        .limit(input.limit + 1);
      const last = rows.length > input.limit ? rows[input.limit - 1] : undefined;
      return {
        items: rows.slice(0, input.limit).map(
          (row): Report => ({
            id: row.id,
            roomId: row.roomId,
            reporter: row.reporter,
            target: {
              user: row.targetUser,
              message: row.message && {
                id: row.message.id,
                sender: row.targetUser,
                excerpt: row.message.deletedAt ? null : [...row.message.body].slice(0, EXCERPT_CHARS).join(""),
                deleted: row.message.deletedAt !== null,
              },
            },
            // Written only by `report` and `resolve` from their schemas' enums.
            reason: row.reason as ReportReason,
            note: row.note,
            status: row.status === "resolved" ? "resolved" : "open",
            resolution:
              row.resolution && row.resolvedAt
                ? { action: row.resolution as ReportResolution, byUserId: row.resolvedBy, at: row.resolvedAt.toISOString() }
                : null,
            createdAt: row.createdAt.toISOString(),
          }),
        ),
        nextCursor: last ? encodeCursor([last.createdAtKey, last.id]) : null,
      };
    },

    async resolve(userId, input) {
      const [report] = await db
        .select({ roomId: reports.roomId, status: reports.status, targetKey: reports.targetKey, targetUserId: reports.targetUserId, messageId: reports.messageId })
        .from(reports)
        .where(eq(reports.id, input.reportId));
      // Reports for the operator's queue are no room moderator's business: as if they did not exist.
      if (!report?.roomId) throw new DomainError("NOT_FOUND", "no such report");
      const roomId = report.roomId;
      const { role } = await findMemberRoom(db, userId, roomId);
      requirePermission(role, "handleReports");
      if (report.status !== "open") throw new DomainError("CONFLICT", "this report is already resolved");
      const person = (): string => {
        if (!report.targetUserId) throw new DomainError("NOT_FOUND", "the reported account no longer exists");
        return report.targetUserId;
      };
      const timed = input.durationSeconds === undefined ? {} : { durationSeconds: input.durationSeconds };
      switch (input.action) {
        case "dismiss":
          break;
        case "delete":
          if (!report.targetKey.startsWith("message:")) throw new DomainError("BAD_REQUEST", "only a report about a message can be resolved by deleting it");
          if (!report.messageId) throw new DomainError("NOT_FOUND", "no such message");
          await deps.messageChanges.delete(userId, { messageId: report.messageId });
          break;
        case "mute":
          await deps.rooms.mute(userId, { roomId, userId: person(), ...timed });
          break;
        case "ban":
          await deps.rooms.ban(userId, { roomId, userId: person(), ...timed });
          break;
        case "kick":
          await deps.rooms.kick(userId, { roomId, userId: person() });
          break;
      }
      return db.transaction(async (tx) => {
        const resolved = await tx
          .update(reports)
          .set({ status: "resolved", resolvedBy: userId, resolution: input.action, resolvedAt: deps.clock.now() })
          .where(and(eq(reports.roomId, roomId), eq(reports.targetKey, report.targetKey), eq(reports.status, "open")))
          .returning({ id: reports.id });
        // Another moderator resolved it meanwhile (their act and this one both stand, each audited on its own).
        if (!resolved.some((row) => row.id === input.reportId)) throw new DomainError("CONFLICT", "this report is already resolved");
        const reportIds = resolved.map((row) => row.id);
        await recordAudit(tx, {
          roomId,
          seq: null,
          action: "report.resolved",
          actorId: userId,
          targetUserId: report.targetUserId,
          targetMessageId: report.messageId,
          data: { resolution: input.action, reportIds },
        });
        return { reportIds };
      });
    },
  };
}
