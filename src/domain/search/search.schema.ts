import { Buffer } from "node:buffer";
import { z } from "zod";
import type { Message } from "../messages/messages.schema.ts";
import { plainText } from "../plain-text.ts";
import { PgTimestampText } from "../rooms/page-cursor.ts";
import { parseSearchQuery, type SearchQuery } from "./search-query.ts";

export const MAX_QUERY_CHARS = 200;

/**
 * What the person typed: NFC (bodies are NFC too), trimmed, plain text, 1–200 characters (UTF-16 units), read into
 * terms by `parseSearchQuery` — so the service only ever sees a query with a word to find.
 */
const QueryText = z
  .string()
  .max(MAX_QUERY_CHARS * 4, `query must be at most ${MAX_QUERY_CHARS} characters`) // cheap pre-check before normalising
  .transform((value) => value.normalize("NFC").trim())
  .pipe(
    z
      .string()
      .check(plainText({ field: "query" }))
      .min(1, "query must not be empty")
      .max(MAX_QUERY_CHARS, `query must be at most ${MAX_QUERY_CHARS} characters`)
      .transform((value, ctx): SearchQuery => {
        const parsed = parseSearchQuery(value);
        if (parsed.ok) return parsed.query;
        ctx.addIssue({ code: "custom", message: parsed.message, input: value });
        return z.NEVER;
      }),
  );

/** The sort key of a page's last hit: its rank as Postgres printed it (a float4), its created_at (text) and id. */
export type SearchCursorKey = [rank: string, createdAt: string, id: string];

/**
 * A float4 as Postgres prints it ("0.06079271", "1e-20", "0"), and one `::real` accepts: in float4's normal range,
 * so a forged value can never make the cast fail (an out-of-range real is an error, not a comparison).
 */
const RankText = z
  .string()
  .regex(/^\d{1,10}(\.\d{1,12})?(e[+-]?\d{1,2})?$/)
  .refine((text) => {
    const value = Number(text);
    return value === 0 || (value >= 1e-30 && value <= 1e30);
  });

const CursorKey = z.tuple([RankText, PgTimestampText, z.uuid()]);

export function encodeSearchCursor(key: SearchCursorKey): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A cursor decoded to its key; anything `encodeSearchCursor` did not produce from such a key is "invalid cursor". */
const SearchCursor = z
  .string()
  .min(1, "invalid cursor")
  .max(200, "invalid cursor")
  .transform((cursor, ctx): SearchCursorKey => {
    const parsed = CursorKey.safeParse(parseJson(Buffer.from(cursor, "base64url").toString("utf8")));
    if (parsed.success) return parsed.data;
    ctx.addIssue({ code: "custom", message: "invalid cursor", input: cursor });
    return z.NEVER;
  });

const DATE_TIME = "must be an ISO 8601 date-time, e.g. 2025-01-31T12:00:00Z";

/** An ISO 8601 instant with `Z` or an offset, as a Date in years 1–9999 (what Postgres and `toISOString` share). */
const Instant = z.iso
  .datetime({ offset: true, error: DATE_TIME })
  .transform((text) => new Date(text))
  .refine((date) => date.getUTCFullYear() >= 1 && date.getUTCFullYear() <= 9999, { message: DATE_TIME });

export const SearchMessagesInput = z
  .strictObject({
    query: QueryText,
    /** Only this room (which you must be a member of). */
    roomId: z.uuid().optional(),
    /** Only messages this user sent. */
    fromUserId: z.uuid().optional(),
    /** Only messages with an http(s) link, or with an attachment (kind image or file). */
    has: z.enum(["link", "attachment"]).optional(),
    /** Sent before / after these instants (exclusive). */
    before: Instant.optional(),
    after: Instant.optional(),
    cursor: SearchCursor.optional(),
    limit: z.number().int().min(1).max(50).default(20),
  })
  .refine((input) => input.before === undefined || input.after === undefined || input.after.getTime() < input.before.getTime(), {
    message: "after must be earlier than before",
  });
export type SearchMessagesInput = z.infer<typeof SearchMessagesInput>;

export interface SearchSnippet {
  /** Plain text from the body around what matched: up to two fragments joined by " … ", or the start of the body. */
  text: string;
  /** The matched words, as [start, end) offsets in UTF-16 code units into `text`, in order and not overlapping. */
  highlights: [number, number][];
}

export interface SearchHit {
  message: Message;
  snippet: SearchSnippet;
}

/** `messages.search`: best hits first. */
export interface SearchPage {
  hits: SearchHit[];
  /** Pass as `cursor` (with the same query and filters) for the next page; null at the end. */
  nextCursor: string | null;
}
