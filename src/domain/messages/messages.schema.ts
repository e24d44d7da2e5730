import { z } from "zod";
import { plainText } from "../plain-text.ts";
import { pageCursor, PgTimestampText } from "../rooms/page-cursor.ts";
import type { UserPublic } from "../users/users.schema.ts";

/**
 * What a message is: `text`; `image` when it carries attachments that are all images a browser shows inline (PNG,
 * JPEG, GIF, WebP, AVIF); `file` when it carries any other attachment. With attachments the body is a caption and
 * may be "".
 */
export type MessageKind = "text" | "image" | "file";

/** The most files one message carries. */
export const MAX_ATTACHMENTS = 10;

/**
 * A file a message carries, as it was when the message was sent (files do not change once completed). Its bytes
 * are fetched through `files.url {fileId}` (and `variant: "thumbnail"` for the preview): short-lived signed URLs,
 * issued to those who may see the message, so none is stored in the log or in a page that may be read much later.
 */
export interface Attachment {
  fileId: string;
  filename: string;
  contentType: string;
  /** Bytes. */
  size: number;
  /** An image's size in pixels; null for other files. */
  width: number | null;
  height: number | null;
  /** A WebP preview that fits in 320×320, when the server could make one. */
  thumbnail: { width: number; height: number } | null;
}

/**
 * A message as the room's log has made it: its current body (after edits), a tombstone once deleted, its reactions,
 * pin and thread summary. The same shape everywhere — `messages.list`, events, search results.
 */
export interface Message {
  id: string;
  roomId: string;
  /** The seq of its `message.created` in the room's log. */
  seq: number;
  kind: MessageKind;
  sender: UserPublic;
  /** Plain text (clients render it); "" once deleted, and may be "" for a message with attachments. */
  body: string;
  /** Its files ([] for none, and once deleted: they are deleted with it). */
  attachments: Attachment[];
  /** ISO 8601. */
  createdAt: string;
  /** When the body was last edited; null if never. */
  editedAt: string | null;
  /** A tombstone: when it was deleted (its body, edits, reactions and mentions are gone from storage). */
  deletedAt: string | null;
  /** Who deleted it: its sender, or someone who moderates the room (a moderator, admin or owner). */
  deletedBy: "sender" | "moderator" | null;
  /** The message this one replies to, quoted as that message is now (its edits and its deletion show). */
  replyTo: ReplyQuote | null;
  /** For a reply in a thread: its root. Thread replies are not on the main timeline unless `alsoInRoom`. */
  threadRootId: string | null;
  /** A thread reply also shown on the main timeline (and counted as unread there). */
  alsoInRoom: boolean;
  /** For a thread's root: its summary; null for a message nobody replied to in a thread. */
  thread: ThreadSummary | null;
  /** Members mentioned by `@username`, resolved when sent (and again on edit). */
  mentions: string[];
  /** `@room` by a moderator and up (ROOM_PERMISSIONS mentionRoom): a mention of every member. */
  mentionsRoom: boolean;
  /** One entry per emoji, each in its place from when it first appeared until its count is 0 (new ones last). `me` is false in pushed events (see README). */
  reactions: ReactionCount[];
  pinned: { at: string; byUserId: string } | null;
  /** The body holds an http(s) link (the search filter `has: "link"`). */
  hasLink: boolean;
  /**
   * Present (always `true`) only in what the reader reads (messages.list, thread, search, pinned, rooms.list) when
   * they blocked the sender: the message stays for everyone, and clients may collapse it. Never in pushed events,
   * which every member shares: the SDK flags those from the blocked set it keeps (users.blocked, block.updated).
   */
  senderBlocked?: true;
}

export interface ReplyQuote {
  messageId: string;
  sender: UserPublic;
  /** The target's body as it is now, cut to 140 characters; "" once it is deleted. */
  excerpt: string;
  deleted: boolean;
}

export interface ThreadSummary {
  replyCount: number;
  lastReplyAt: string | null;
  /** Who replied, first replier first (at most 10). */
  participants: UserPublic[];
}

export interface ReactionCount {
  emoji: string;
  count: number;
  /** Whether the reader is among them. Always false in pushed events: one frame goes to every member. */
  me: boolean;
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
function bodyText(empty: "allowed" | "refused") {
  return z
    .string()
    .max(MAX_BODY_BYTES * 2, `body must be at most ${MAX_BODY_CHARS} characters`) // cheap pre-check before normalising
    .transform((value) => value.normalize("NFC").trim())
    .pipe(
      z
        .string()
        .check(plainText({ field: "body", lines: "many" }))
        .refine((value) => empty === "allowed" || value.length > 0, { message: "body must not be empty" })
        .refine((value) => characterCount(value, MAX_BODY_CHARS) <= MAX_BODY_CHARS, {
          message: `body must be at most ${MAX_BODY_CHARS} characters`,
        })
        .refine((value) => new TextEncoder().encode(value).length <= MAX_BODY_BYTES, {
          message: `body must be at most ${MAX_BODY_BYTES} bytes of UTF-8`,
        }),
    );
}

export const MessageBody = bodyText("refused");
/** A send's body: the message, or the caption of its attachments (then it may be "" or left out). */
const SendBody = z.string().default("").pipe(bodyText("allowed"));

/** Client-chosen idempotency key: a retry with the same id returns the original message. */
export const ClientMsgId = z
  .string()
  .min(8, "clientMsgId must be 8–64 characters")
  .max(64, "clientMsgId must be 8–64 characters")
  .regex(/^[A-Za-z0-9_-]+$/, "clientMsgId may only use A–Z, a–z, 0–9, _ and -");

export const MessageId = z.uuid();

/** What a send may say beyond its body: whom it answers, and in which thread. */
export const SendOptions = {
  /** A message of the same room to quote. */
  replyTo: MessageId.optional(),
  /** A main-timeline message of the same room whose thread this joins. */
  threadRootId: MessageId.optional(),
  /** A thread reply that is also shown on the main timeline. */
  alsoInRoom: z.boolean().optional(),
  /** Completed uploads (files.complete) the sender made for this room, in the order shown; each attaches once. */
  attachments: z
    .array(z.uuid())
    .max(MAX_ATTACHMENTS, `at most ${MAX_ATTACHMENTS} attachments`)
    .refine((ids) => new Set(ids).size === ids.length, { message: "an attachment is listed twice" })
    .optional(),
};

export const SendMessageInput = z
  .strictObject({ roomId: z.uuid(), clientMsgId: ClientMsgId, body: SendBody, ...SendOptions })
  .refine((input) => !input.alsoInRoom || input.threadRootId !== undefined, { message: "alsoInRoom needs threadRootId" })
  .refine((input) => input.body.length > 0 || (input.attachments?.length ?? 0) > 0, { message: "body must not be empty", path: ["body"] });
export type SendMessageInput = z.infer<typeof SendMessageInput>;

export const EditMessageInput = z.strictObject({ messageId: MessageId, body: MessageBody });
export type EditMessageInput = z.infer<typeof EditMessageInput>;

export const MessageRef = z.strictObject({ messageId: MessageId });
export type MessageRef = z.infer<typeof MessageRef>;

/**
 * One emoji: exactly one RGI emoji sequence (a flag, a keycap, a skin tone or ZWJ family is one), as Unicode
 * defines them — not text, not two emoji, not a shortcode. 32 UTF-16 units covers the longest RGI sequence.
 */
// Built at run time: the `v` flag (Unicode sets, for \p{RGI_Emoji}) is newer than the compiler's target.
const ONE_EMOJI = new RegExp("^\\p{RGI_Emoji}$", "v");

export const Emoji = z
  .string()
  .max(32, "emoji must be one emoji")
  .refine((value) => ONE_EMOJI.test(value), { message: "emoji must be exactly one emoji" });

export const ReactionInput = z.strictObject({ messageId: MessageId, emoji: Emoji });
export type ReactionInput = z.infer<typeof ReactionInput>;

export const ReactorsInput = z.strictObject({
  messageId: MessageId,
  emoji: Emoji,
  /** From the previous page: when its last reactor reacted (as Postgres prints it) and who. */
  cursor: pageCursor(PgTimestampText).optional(),
  limit: z.number().int().min(1).max(100).default(50),
});
export type ReactorsInput = z.infer<typeof ReactorsInput>;

export const ThreadInput = z.strictObject({
  rootId: MessageId,
  /** The seq of the last reply of the previous page: replies after it. */
  cursor: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.number().int().min(1).max(100).default(50),
});
export type ThreadInput = z.infer<typeof ThreadInput>;

export const PinnedInput = z.strictObject({ roomId: z.uuid() });
export type PinnedInput = z.infer<typeof PinnedInput>;

/** `messages.edits`: the versions a body had before its current one, oldest first. */
export interface MessageEdits {
  messageId: string;
  versions: { version: number; body: string; replacedAt: string }[];
}

/** `messages.reactors`: who reacted with one emoji, first first. */
export interface Reactors {
  items: { user: UserPublic; reactedAt: string }[];
  nextCursor: string | null;
}

/** `messages.thread`: the root and a page of its replies, ascending. */
export interface ThreadPage {
  root: Message;
  replies: Message[];
  /** Pass as `cursor` for the next page; null at the end. */
  nextCursor: number | null;
}

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
