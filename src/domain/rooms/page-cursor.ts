import { Buffer } from "node:buffer";
import { z } from "zod";

/**
 * Keyset cursors: the sort key of the last row of a page (a value and a row id), as base64url JSON.
 * Opaque to clients, who only pass them back; the input schemas decode and validate them (`pageCursor`), so a
 * service only ever sees a key it could have issued.
 */
export function encodeCursor(key: readonly [string, string]): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

/** Long enough for a discover cursor carrying an 80-character name of 4-byte characters. */
const MAX_CURSOR_LENGTH = 600;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A cursor input decoded to its key: `sortValue` for the value, a uuid for the row id. Anything `encodeCursor` did not
 * produce from such a key is one issue, "invalid cursor".
 */
export function pageCursor(sortValue: z.ZodType<string>): z.ZodType<[string, string], string> {
  const key = z.tuple([sortValue, z.uuid()]);
  return z
    .string()
    .min(1, "invalid cursor")
    .max(MAX_CURSOR_LENGTH, "invalid cursor")
    .transform((cursor, ctx) => {
      const parsed = key.safeParse(parseJson(Buffer.from(cursor, "base64url").toString("utf8")));
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: "custom", message: "invalid cursor", input: cursor });
      return z.NEVER;
    });
}

const PG_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?(?::(\d{2}))?$/;

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/** Every field in range: a date that exists (no 30 February), a time of day, an offset Postgres accepts (±15:59:59). */
function isRealInstant(text: string): boolean {
  const match = PG_TIMESTAMP.exec(text);
  if (!match) return false;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0, offsetSeconds = 0] = match
    .slice(1)
    .map((part) => Number(part ?? 0));
  const date = year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month); // 0001–9999 AD
  const time = hour <= 23 && minute <= 59 && second <= 59;
  const offset = offsetHours <= 15 && offsetMinutes <= 59 && offsetSeconds <= 59;
  return date && time && offset;
}

/**
 * A timestamptz as Postgres prints it (`::text`, DateStyle ISO), which keeps the microseconds a JS Date would drop —
 * and which names a real instant: parsed and range-checked, so Postgres never sees a cast it refuses.
 */
export const PgTimestampText = z.string().refine(isRealInstant);
