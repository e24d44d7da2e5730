import { z } from "zod";

/** The zones this runtime knows (its ICU's canonical names), plus "UTC", which some runtimes list only as an alias. */
const KNOWN_ZONES = new Set([...Intl.supportedValuesOf("timeZone"), "UTC"]);

/**
 * The canonical name of an IANA zone, or null: Intl resolves aliases and case ("asia/kolkata", "Asia/Calcutta")
 * to one name, and a zone must resolve to one the runtime lists — offsets ("+01:00") and made-up names do not.
 */
function canonicalZone(name: string): string | null {
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
    return KNOWN_ZONES.has(resolved) ? resolved : null;
  } catch {
    return null;
  }
}

/** An IANA time zone name ("Europe/Berlin", "UTC"), stored in its canonical spelling. */
export const TimeZone = z
  .string()
  .max(64, "timezone must be an IANA time zone name")
  .regex(/^[A-Za-z][A-Za-z0-9_+/-]*$/, "timezone must be an IANA time zone name")
  .transform((value, ctx) => {
    const zone = canonicalZone(value);
    if (zone === null) {
      ctx.addIssue({ code: "custom", message: "timezone must be an IANA time zone name", input: value });
      return z.NEVER;
    }
    return zone;
  });
