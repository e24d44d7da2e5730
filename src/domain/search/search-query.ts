/**
 * The syntax of `messages.search` queries, read into terms, and the one way terms become a Postgres tsquery.
 *
 * Syntax: words are AND-ed; a bare word matches as a prefix (`deplo` finds "deployment"); `"a quoted phrase"`
 * matches those words next to each other, in that order; a leading `-` excludes a word or a phrase. Nothing else is
 * an operator: `|`, `&`, `!`, `:`, `(` and `OR` are text.
 *
 * This module handles only that syntax. Splitting a word into lexemes and lower-casing them is left to Postgres:
 * each term is handed to `to_tsquery('simple', …)` as a single-quoted operand (quotes and backslashes escaped), which
 * runs it through the same parser and dictionary that built `messages.search` from bodies — so "example.com",
 * "foo-bar", "don't", "Привет", "CAFÉ" or "東京タワー" are split and lower-cased exactly as they were in the body, in
 * any language and under the database's own locale, where a re-implementation here would drift from it. Inside
 * quotes no character is an operator, so user text never reaches the tsquery syntax.
 */

export interface SearchTerm {
  /** A bare word (prefix match), or a quoted phrase (the words next to each other, in order, exactly). */
  kind: "word" | "phrase";
  /** As typed, without the quotes or the leading `-`. */
  text: string;
  /** A `-` term: messages containing it are left out. */
  exclude: boolean;
}

export interface SearchQuery {
  terms: SearchTerm[];
}

export type ParsedSearchQuery = { ok: true; query: SearchQuery } | { ok: false; message: string };

/** More terms than this make a query no person types, and each one is another index lookup. */
export const MAX_SEARCH_TERMS = 20;

/** Prefix matching starts at two characters: a one-letter prefix would match most messages (and cost as much). */
const MIN_PREFIX_CHARACTERS = 2;

/**
 * Characters the 'simple' configuration can make a lexeme of. Everything else (punctuation, symbols, emoji) only
 * separates words there, so a term without one of these could never match.
 */
const SEARCHABLE = /[\p{L}\p{N}]/u;
const SEARCHABLE_ALL = /[\p{L}\p{N}]/gu;
const SPACE = /\s/u;

export const NO_SEARCHABLE_WORD = "query must contain a word to search for (letters or digits)";
export const ONLY_EXCLUSIONS = "query must contain a word to find, not only -excluded ones";

/** Reads a query into terms. Never throws: a query with nothing to search for is `{ok: false}` with the reason. */
export function parseSearchQuery(text: string): ParsedSearchQuery {
  const terms: SearchTerm[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at] as string;
    if (SPACE.test(char)) {
      at += 1;
      continue;
    }
    // `-` excludes only at the start of a term and only when something follows it: "a - b" is two words.
    const exclude = char === "-" && at + 1 < text.length && !SPACE.test(text[at + 1] as string);
    if (exclude) at += 1;
    if (text[at] === '"') {
      // An unclosed quote runs to the end: the person is probably still typing the phrase.
      const close = text.indexOf('"', at + 1);
      const end = close === -1 ? text.length : close;
      terms.push({ kind: "phrase", text: text.slice(at + 1, end).trim(), exclude });
      at = end + 1;
      continue;
    }
    let end = at;
    while (end < text.length && !SPACE.test(text[end] as string) && text[end] !== '"') end += 1;
    terms.push({ kind: "word", text: text.slice(at, end), exclude });
    at = end;
  }
  const searchable = terms.filter((term) => SEARCHABLE.test(term.text));
  if (searchable.length === 0) return { ok: false, message: NO_SEARCHABLE_WORD };
  if (searchable.every((term) => term.exclude)) return { ok: false, message: ONLY_EXCLUSIONS };
  if (searchable.length > MAX_SEARCH_TERMS) {
    return { ok: false, message: `query must have at most ${MAX_SEARCH_TERMS} words and phrases` };
  }
  return { ok: true, query: { terms: searchable } };
}

/** A single-quoted tsquery operand: inside it `'` is doubled and `\` escapes, and nothing is an operator. */
function quoted(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

function isPrefix(term: SearchTerm): boolean {
  return term.kind === "word" && (term.text.match(SEARCHABLE_ALL)?.length ?? 0) >= MIN_PREFIX_CHARACTERS;
}

/**
 * The text to give `to_tsquery('simple', …)` (bound as a parameter): every term quoted, `:*` on bare words, `!` on
 * exclusions, all AND-ed — `"big world" deplo -spam` → `'big world' & 'deplo':* & !'spam':*`. Postgres turns a quoted
 * operand of several words into a phrase (`'big' <-> 'world'`), and drops operands with no lexeme.
 */
export function tsQuerySource(query: SearchQuery): string {
  return query.terms
    .map((term) => `${term.exclude ? "!" : ""}${quoted(term.text)}${isPrefix(term) ? ":*" : ""}`)
    .join(" & ");
}
