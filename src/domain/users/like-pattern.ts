/**
 * A LIKE pattern matching `text` literally: `%`, `_` and the escape character `\` (Postgres's default ESCAPE)
 * in user input match themselves, never "anything".
 */
export function likePattern(text: string, match: "prefix" | "contains"): string {
  const literal = text.replace(/[\\%_]/g, (char) => `\\${char}`);
  return match === "prefix" ? `${literal}%` : `%${literal}%`;
}
