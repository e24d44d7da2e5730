import { timingSafeEqual } from "node:crypto";

/** True when `header` is exactly `Bearer <token>`, compared in constant time; always false without a token. */
export function bearerMatches(header: string | undefined, token: string | null): boolean {
  if (token === null || header === undefined) return false;
  const given = new TextEncoder().encode(header);
  const expected = new TextEncoder().encode(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
