/**
 * Turns anything a log call was handed into plain JSON data, without ever throwing, and keeps personal data out:
 *
 * - Fields whose name says they hold a secret or personal data (emails, passwords, tokens, tickets, message bodies,
 *   cookies, query parameters, request inputs) are replaced by "[redacted]", wherever they are nested.
 * - Errors keep their name, message, code and stack, and their `cause` chain (to a depth). Their text goes through
 *   `scrubText`: drizzle's "Failed query: … params: …" loses the parameters, and anything shaped like an email
 *   address is masked — Postgres puts offending values in `detail` ("Key (email)=(…) already exists").
 * - BigInts become strings, cycles "[Circular]", functions and symbols their description; depth and array length
 *   are capped so one huge value cannot make a huge line.
 */
export function logSafe(value: unknown): unknown {
  return toSafe(value, 0, new WeakSet());
}

const REDACTED_KEYS = new Set([
  "email",
  "newemail",
  "password",
  "newpassword",
  "passwordhash",
  "token",
  "accesstoken",
  "refreshtoken",
  "ticket",
  "secret",
  "authorization",
  "cookie",
  "body",
  "params",
  "parameters",
  "input",
  "rawinput",
]);

const MAX_DEPTH = 8;
const MAX_ARRAY = 50;
const MAX_STRING = 8_000;
const MAX_CAUSES = 5;

const EMAIL = /[^\s@"'<>()[\]=,;:]+@[^\s@"'<>()[\]=,;:]+\.[A-Za-z]{2,}/g;

/** Error text with query parameters dropped and email-shaped substrings masked. */
export function scrubText(text: string): string {
  const withoutParams = text.replace(/\nparams: [\s\S]*?(?=\n {4}at |$)/, "\nparams: [redacted]");
  return withoutParams.replace(EMAIL, "[email]").slice(0, MAX_STRING);
}

function toSafe(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  switch (typeof value) {
    case "string":
      return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
    case "number":
    case "boolean":
    case "undefined":
      return value;
    case "bigint":
      return value.toString();
    case "symbol":
      return value.toString();
    case "function":
      return `[function ${value.name || "anonymous"}]`;
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[Truncated]";
  seen.add(object);
  try {
    if (object instanceof Error) return errorToSafe(object, depth, seen, 0);
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
    if (Array.isArray(object)) {
      const items = object.slice(0, MAX_ARRAY).map((item) => toSafe(item, depth + 1, seen));
      if (object.length > MAX_ARRAY) items.push(`[${object.length - MAX_ARRAY} more]`);
      return items;
    }
    if (object instanceof Map) return toSafe(Object.fromEntries([...object].slice(0, MAX_ARRAY)), depth, seen);
    if (object instanceof Set) return toSafe([...object], depth, seen);
    if (ArrayBuffer.isView(object)) return `[${object.constructor.name} ${object.byteLength} bytes]`;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(object)) {
      out[key] = REDACTED_KEYS.has(key.toLowerCase()) ? "[redacted]" : toSafe(readField(object, key), depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(object); // a value met twice side by side is not a cycle
  }
}

function errorToSafe(error: Error, depth: number, seen: WeakSet<object>, causes: number): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, message: scrubText(String(error.message)) };
  // Driver errors carry their facts as own fields (code, severity, constraint, …); personal ones are dropped.
  for (const key of Object.keys(error)) {
    if (key === "cause" || key === "message" || key === "stack" || key === "query") continue;
    const field = readField(error, key);
    if (REDACTED_KEYS.has(key.toLowerCase())) out[key] = "[redacted]";
    else if (typeof field === "string") out[key] = scrubText(field);
    else out[key] = toSafe(field, depth + 1, seen);
  }
  if (typeof error.stack === "string") out.stack = scrubText(error.stack);
  const cause = readField(error, "cause");
  if (cause !== undefined) {
    if (causes >= MAX_CAUSES) out.cause = "[more causes]";
    else if (cause instanceof Error && !seen.has(cause)) {
      seen.add(cause);
      out.cause = errorToSafe(cause, depth + 1, seen, causes + 1);
      seen.delete(cause);
    } else out.cause = toSafe(cause, depth + 1, seen);
  }
  return out;
}

/** A getter that throws must not turn a log call into a crash. */
function readField(object: object, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch (error) {
    return `[unreadable: ${error instanceof Error ? error.message : String(error)}]`;
  }
}
