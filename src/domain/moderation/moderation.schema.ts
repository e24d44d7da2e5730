import { z } from "zod";
import { plainText } from "../plain-text.ts";
import { pageCursor, PgTimestampText } from "../rooms/page-cursor.ts";
import type { ReportResolution } from "../rooms/room-audit.ts";
import { RoomId } from "../rooms/rooms.schema.ts";
import type { UserPublic } from "../users/users.schema.ts";

export const REPORT_REASONS = ["spam", "harassment", "hate", "violence", "sexual", "self_harm", "other"] as const;
export type ReportReason = (typeof REPORT_REASONS)[number];
export type ReportStatus = "open" | "resolved";
export type { ReportResolution };

/** The reported message as moderators see it: its words only while it still has them. */
export interface ReportedMessage {
  id: string;
  /** Null once the sender's account is gone. */
  sender: UserPublic | null;
  /** The body's first characters; null once the message is deleted. */
  excerpt: string | null;
  deleted: boolean;
}

/** One report, as `moderation.reports` lists it for the room's moderators. */
export interface Report {
  id: string;
  roomId: string | null;
  /** Null once the reporter's account is gone. */
  reporter: UserPublic | null;
  /** The person reported (a message report: its sender); `message` for a message report while the row exists. */
  target: { user: UserPublic | null; message: ReportedMessage | null };
  reason: ReportReason;
  note: string | null;
  status: ReportStatus;
  /** What was done about it, by whom and when; null while open. */
  resolution: { action: ReportResolution; byUserId: string | null; at: string } | null;
  createdAt: string;
}

const note = z
  .string()
  .transform((value) => value.normalize("NFC").trim())
  .pipe(z.string().check(plainText({ field: "note", lines: "many" })).max(1000, "note must be at most 1000 characters"));

/** About a message (its room is the report's room) or a person (in `roomId`, or for the operator without one). */
export const ReportInput = z
  .strictObject({
    messageId: z.uuid().optional(),
    userId: z.uuid().optional(),
    roomId: RoomId.optional(),
    reason: z.enum(REPORT_REASONS),
    note: note.optional(),
  })
  .refine((input) => (input.messageId === undefined) !== (input.userId === undefined), {
    message: "report exactly one of messageId, userId",
  });
export type ReportInput = z.infer<typeof ReportInput>;

/** Reports page by (created_at, id), newest first. */
export const ReportsInput = z.strictObject({
  roomId: RoomId,
  status: z.enum(["open", "resolved"]).default("open"),
  cursor: pageCursor(PgTimestampText).optional(),
  limit: z.number().int().min(1).max(100).default(50),
});
export type ReportsInput = z.infer<typeof ReportsInput>;

export const ResolveInput = z.strictObject({
  reportId: z.uuid(),
  action: z.enum(["dismiss", "delete", "mute", "ban", "kick"]) satisfies z.ZodType<ReportResolution>,
  /** For "mute" and "ban": as rooms.mute / rooms.ban (without it, until lifted). */
  durationSeconds: z.number().int().min(60).max(31_536_000).optional(),
});
export type ResolveInput = z.infer<typeof ResolveInput>;
