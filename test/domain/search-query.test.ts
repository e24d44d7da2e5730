import { describe, expect, it } from "vitest";
import {
  MAX_SEARCH_TERMS,
  NO_SEARCHABLE_WORD,
  ONLY_EXCLUSIONS,
  parseSearchQuery,
  type SearchQuery,
  tsQuerySource,
} from "../../src/domain/search/search-query.ts";
import { snippetOf } from "../../src/domain/search/search-snippet.ts";

function parsed(text: string): SearchQuery {
  const result = parseSearchQuery(text);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(text)} to parse, got: ${result.message}`);
  return result.query;
}

const source = (text: string): string => tsQuerySource(parsed(text));

describe("search query syntax", () => {
  it("ANDs bare words, each a prefix match", () => {
    expect(parsed("deploy friday")).toEqual({
      terms: [
        { kind: "word", text: "deploy", exclude: false },
        { kind: "word", text: "friday", exclude: false },
      ],
    });
    expect(source("deploy  friday")).toBe("'deploy':* & 'friday':*");
  });

  it("matches a one-character word exactly: a one-letter prefix would match most messages", () => {
    expect(source("a bc")).toBe("'a' & 'bc':*");
    expect(source("東 東京")).toBe("'東' & '東京':*");
  });

  it("reads quoted phrases as exact phrases, and an unclosed quote to the end", () => {
    expect(parsed('"big world" ship')).toEqual({
      terms: [
        { kind: "phrase", text: "big world", exclude: false },
        { kind: "word", text: "ship", exclude: false },
      ],
    });
    expect(source('"big world" ship')).toBe("'big world' & 'ship':*");
    expect(source('ship "big wor')).toBe("'ship':* & 'big wor'");
    expect(source('foo"bar baz"')).toBe("'foo':* & 'bar baz'");
  });

  it("excludes words and phrases with a leading minus, but not a lone or inner one", () => {
    expect(source('release -friday -"on call"')).toBe("'release':* & !'friday':* & !'on call'");
    expect(source("a - b")).toBe("'a' & 'b'");
    expect(source("foo-bar")).toBe("'foo-bar':*");
    expect(parsed("x -y").terms.map((term) => term.exclude)).toEqual([false, true]);
  });

  it("leaves splitting and lower-casing to Postgres, in any script", () => {
    expect(source("Привет МИР")).toBe("'Привет':* & 'МИР':*");
    expect(source("café crème")).toBe("'café':* & 'crème':*");
    expect(source("東京タワー")).toBe("'東京タワー':*");
    expect(source("example.com")).toBe("'example.com':*");
  });

  it("quotes every term, so no character of the query is a tsquery operator", () => {
    expect(source("it's")).toBe("'it''s':*");
    expect(source("a\\b")).toBe("'a\\\\b':*");
    expect(source("x&y|!z<->(w):*")).toBe("'x&y|!z<->(w):*':*");
    expect(source("OR not")).toBe("'OR':* & 'not':*");
    expect(source(`"'; drop table messages; --"`)).toBe("'''; drop table messages; --'");
  });

  it("drops terms without a letter or digit, and refuses a query left with nothing to find", () => {
    expect(source("hello 😀 && -!!")).toBe("'hello':*");
    for (const text of ["", "   ", "😀", "&& ||", '""', "-", '" "', "!?"]) {
      expect(parseSearchQuery(text), text).toEqual({ ok: false, message: NO_SEARCHABLE_WORD });
    }
    expect(parseSearchQuery("-spam -\"on call\"")).toEqual({ ok: false, message: ONLY_EXCLUSIONS });
  });

  it(`refuses more than ${MAX_SEARCH_TERMS} terms`, () => {
    expect(parsed(Array.from({ length: MAX_SEARCH_TERMS }, (_, i) => `w${i}`).join(" ")).terms).toHaveLength(MAX_SEARCH_TERMS);
    expect(parseSearchQuery(Array.from({ length: MAX_SEARCH_TERMS + 1 }, (_, i) => `w${i}`).join(" "))).toEqual({
      ok: false,
      message: `query must have at most ${MAX_SEARCH_TERMS} words and phrases`,
    });
  });
});

describe("search snippets", () => {
  it("turns headline markers into UTF-16 ranges of the plain text", () => {
    expect(snippetOf("say \u0001hello\u0002 to the \u0001world\u0002")).toEqual({
      text: "say hello to the world",
      highlights: [
        [4, 9],
        [17, 22],
      ],
    });
    const snippet = snippetOf("😀 \u0001東京\u0002!");
    expect(snippet).toEqual({ text: "😀 東京!", highlights: [[3, 5]] });
    expect(snippet.text.slice(3, 5)).toBe("東京");
  });

  it("keeps text without markers whole, and ignores empty or unbalanced marks", () => {
    expect(snippetOf("no marks\nhere")).toEqual({ text: "no marks\nhere", highlights: [] });
    expect(snippetOf("a\u0001\u0002b\u0002c\u0001d")).toEqual({ text: "abcd", highlights: [] });
  });
});
