import { z } from "zod";

const seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** Moves a watermark: everything up to `seq` in the room was delivered / read. Never moves it backwards. */
export const MarkInput = z.strictObject({ roomId: z.uuid(), seq });
export type MarkInput = z.infer<typeof MarkInput>;

export const MessageStatusInput = z.strictObject({
  roomId: z.uuid(),
  seq,
  /** Members are paged by user id. */
  cursor: z.uuid().optional(),
  limit: z.number().int().min(1).max(500).default(100),
});
export type MessageStatusInput = z.infer<typeof MessageStatusInput>;

/** The caller's watermarks in a room after a mark, with the unread count they imply. */
export interface ReadState {
  roomId: string;
  deliveredSeq: number;
  readSeq: number;
  /** Others' main-timeline messages after `readSeq` (rooms/unread.ts). */
  unread: number;
  /** Of those and thread replies after `readSeq`: the ones that mention me (`@username` or `@room`). */
  unreadMentions: number;
}

export interface MemberReceipt {
  userId: string;
  /** When the member's delivered watermark first reached the message; null if not yet (or their receipts are private). */
  deliveredAt: string | null;
  readAt: string | null;
}

/** Sent / delivered / read for one message: who has it, and since when. */
export interface MessageStatus {
  roomId: string;
  seq: number;
  senderId: string;
  sentAt: string;
  /** Members who were in the room when it was sent, except the sender. */
  members: MemberReceipt[];
  nextCursor: string | null;
}
