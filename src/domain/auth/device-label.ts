/**
 * A short, human label for a session's user agent ("Chrome on Linux", "Safari on iOS", "Node"), for the list of
 * a user's sessions. Best effort and deliberately small: the label helps someone recognise their own devices, it
 * decides nothing, so a rare browser reads as its engine or as "Unknown device" rather than pulling in a UA database.
 */

/** First match wins: browsers that embed another's token (Edge and Opera say "Chrome", Chrome says "Safari") come first. */
const CLIENTS: [pattern: RegExp, name: string][] = [
  [/\bEdg(?:e|A|iOS)?\//, "Edge"],
  [/\b(?:OPR|Opera)\//, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\b(?:Firefox|FxiOS)\//, "Firefox"],
  [/\b(?:Chrome|Chromium|CriOS)\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
  [/\bBun\//, "Bun"],
  [/\bDeno\//, "Deno"],
  [/^node(?:$|[/ ])|\bNode\.js\b|\bundici\b/i, "Node"],
  [/^curl\//, "curl"],
];

/** iOS before macOS (iPads may say "Mac OS X" too, but always name themselves), Android before Linux. */
const SYSTEMS: [pattern: RegExp, name: string][] = [
  [/\b(?:iPhone|iPad|iPod)\b/, "iOS"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b|\bX11\b/, "Linux"],
];

/** Stored user agents are already capped at 256 characters; this bound keeps the parser cheap whoever calls it. */
const MAX_PARSED_CHARS = 512;

function firstMatch(userAgent: string, table: [RegExp, string][]): string | null {
  return table.find(([pattern]) => pattern.test(userAgent))?.[1] ?? null;
}

export function deviceLabel(userAgent: string | null): string {
  const agent = (userAgent ?? "").slice(0, MAX_PARSED_CHARS).trim();
  if (agent === "") return "Unknown device";
  const client = firstMatch(agent, CLIENTS);
  const system = firstMatch(agent, SYSTEMS);
  if (client && system) return `${client} on ${system}`;
  if (client) return client;
  if (system) return `Unknown browser on ${system}`;
  return "Unknown device";
}
