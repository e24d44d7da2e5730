import type { z } from "zod";

/**
 * Parses a JSON record this domain wrote to the KV. Null for a missing key and for anything that no longer fits
 * the schema (an older deploy's shape, a tampered store): such a record is treated as absent, never trusted.
 */
export function readStoredRecord<T>(schema: z.ZodType<T>, raw: string | null): T | null {
  if (raw === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
