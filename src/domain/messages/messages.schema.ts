import { z } from "zod";
import { plainText } from "../plain-text.ts";
import type { UserPublic } from "../users/users.schema.ts";

export interface Message {
  id: string;
  roomId: string;
  /** Position in the room's history: 1, 2, 3, … with no gaps. */
  seq: number;
  sender: UserPublic;
  body: string;
  /** ISO 8601. */
  createdAt: string;
}

export const MAX_BODY_CHARS = 4000;
export const MAX_BODY_BYTES = 16 * 1024;

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** User-perceived characters (grapheme clusters): 👨‍👩‍👧‍👦 is one, though it is 7 code points and 25 bytes. */
function characterCount(value: string, atMost: number): number {
  const codePoints = [...value].length;
  // Never more graphemes than code points, so segmenting is only needed when the cheap count is over the limit.
  if (codePoints <= atMost) return codePoints;
  let count = 0;
  for (const _ of graphemes.segment(value)) count += 1;
  return count;
}

/**
 * A message body: NFC-normalised and trimmed, then plain text (newline and tab allowed), 1–4000 characters and
 * ≤ 16 KiB of UTF-8. Characters are grapheme clusters, so the byte limit is what bounds bodies of long emoji or
 * combining-mark sequences.
 * Bidi and zero-width characters are allowed in messages; clients render each message in its own bidi isolate.
 */
export const MessageBody = z
  .string()
  .max(MAX_BODY_BYTES * 2, `body must be at most ${MAX_BODY_CHARS} characters`) // cheap pre-check before normalising
  .transform((value) => value.normalize("NFC").trim())
  .pipe(
    z
      .string()
      .check(plainText({ field: "body", lines: "many" }))
      .refine((value) => value.length > 0, { message: "body must not be empty" })
      .refine((value) => characterCount(value, MAX_BODY_CHARS) <= MAX_BODY_CHARS, {
        message: `body must be at most ${MAX_BODY_CHARS} characters`,
      })
      .refine((value) => new TextEncoder().encode(value).length <= MAX_BODY_BYTES, {
        message: `body must be at most ${MAX_BODY_BYTES} bytes of UTF-8`,
      }),
  );

/** Client-chosen idempotency key: a retry with the same id returns the original message. */
export const ClientMsgId = z
  .string()
  .min(8, "clientMsgId must be 8–64 characters")
  .max(64, "clientMsgId must be 8–64 characters")
  .regex(/^[A-Za-z0-9_-]+$/, "clientMsgId may only use A–Z, a–z, 0–9, _ and -");

export const SendMessageInput = z.strictObject({
  roomId: z.uuid(),
  clientMsgId: ClientMsgId,
  body: MessageBody,
});
export type SendMessageInput = z.infer<typeof SendMessageInput>;

const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const ListMessagesInput = z
  .strictObject({
    roomId: z.uuid(),
    before: seq.optional(),
    after: seq.optional(),
    around: seq.optional(),
    limit: z.number().int().min(1).max(100).default(50),
  })
  .refine((input) => [input.before, input.after, input.around].filter((v) => v !== undefined).length <= 1, {
    message: "use at most one of before, after, around",
  });
export type ListMessagesInput = z.infer<typeof ListMessagesInput>;

export interface MessagePage {
  /** Always in ascending seq order. */
  messages: Message[];
  /** True when older messages exist before the first one returned. */
  hasOlder: boolean;
  /** True when newer messages exist after the last one returned. */
  hasNewer: boolean;
  /**
   * The room's position (its log's last seq) when the page was read: every message up to it is in the page or
   * before it. Events after it (live or resumed) continue the page exactly; a client holding the newest page
   * follows the room from here.
   */
  lastSeq: number;
}
