import { Buffer } from "node:buffer";
import { z } from "zod";
import { DomainError } from "../../lib/domain-error.ts";

/**
 * Keyset cursors: the sort key of the last row of a page (a value and a row id), as base64url JSON.
 * Opaque to clients, who only pass them back; whatever they send is validated before it reaches a query.
 */
export function encodeCursor(key: readonly [string, string]): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

/** BAD_REQUEST "invalid cursor" for anything `encodeCursor` did not produce with a first value matching `value`. */
export function decodeCursor(cursor: string, value: z.ZodType<string>): [string, string] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new DomainError("BAD_REQUEST", "invalid cursor");
  }
  const key = z.tuple([value, z.uuid()]).safeParse(parsed);
  if (!key.success) throw new DomainError("BAD_REQUEST", "invalid cursor");
  return key.data;
}

/** A timestamptz as Postgres prints it (`::text`, DateStyle ISO): keeps the microseconds a JS Date would drop. */
export const PgTimestampText = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/);
