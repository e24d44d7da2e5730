import type { SearchSnippet } from "./search.schema.ts";

/**
 * Postgres marks matched words in a headline with StartSel/StopSel. These two are control characters, which no
 * body can hold (bodies refuse every control character but newline and tab), so every marker in a headline is one
 * Postgres put there and stripping them leaves exactly the body's text.
 */
const START = "\u0001";
const STOP = "\u0002";

/**
 * `ts_headline` options: up to two fragments of at most 20 words around matches, joined by " … " — a chat message is
 * usually shorter and then comes back whole. ShortWord=0: by default words of up to 3 letters are cut from the
 * ends of a fragment, which drops "Say" from "Say hello" and every word of "a b c hello".
 */
export const HEADLINE_OPTIONS = `StartSel=${START}, StopSel=${STOP}, MaxFragments=2, MaxWords=20, MinWords=8, ShortWord=0, FragmentDelimiter=" … "`;

/** A marked-up headline as plain text plus [start, end) UTF-16 ranges of what was marked. */
export function snippetOf(headline: string): SearchSnippet {
  let text = "";
  const highlights: [number, number][] = [];
  let start: number | null = null;
  let from = 0;
  for (let at = 0; at < headline.length; at++) {
    const char = headline[at];
    if (char !== START && char !== STOP) continue;
    text += headline.slice(from, at);
    from = at + 1;
    if (char === START) {
      start ??= text.length;
    } else {
      if (start !== null && text.length > start) highlights.push([start, text.length]);
      start = null;
    }
  }
  text += headline.slice(from);
  return { text, highlights };
}
