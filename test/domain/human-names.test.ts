import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { DisplayName } from "../../src/domain/auth/auth.schema.ts";
import { CreateRoomInput } from "../../src/domain/rooms/rooms.schema.ts";
import { createCaller } from "../../src/transport/trpc/app-router.ts";
import { createInnerContext } from "../../src/transport/trpc/context.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser, uniqueUsername } from "../support/factories.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { token } from "./room-fixtures.ts";
import { callerFor, trpcError } from "./trpc-calls.ts";

const names = { displayName: DisplayName, name: CreateRoomInput.shape.name };
type Field = keyof typeof names;

/** What the schema stores for `input`, or the messages it refuses it with. */
function parse(field: Field, input: string): { stored: string } | { refused: string[] } {
  const result = names[field].safeParse(input);
  return result.success ? { stored: result.data } : { refused: result.error.issues.map((issue) => issue.message) };
}

/** "x" under `marks` combining marks (none of which NFC composes with x), then "algo". */
const zalgo = (marks: number): string => `x${"\u0316\u0337\u0334\u035C\u0360\u0310".repeat(10).slice(0, marks)}algo`;

describe("human names (display names and room names)", () => {
  // Each is stored exactly as given (after NFC and trimming), under both field rules.
  const accepted: [string, string][] = [
    ["English", "Ada Lovelace"],
    ["Vietnamese", "Nguyễn Thị Minh Khai"],
    ["Hindi (conjuncts: लक्ष्मी is 2 graphemes, 3 marks in the first)", "लक्ष्मी देवी"],
    ["Sanskrit in Devanagari (र्त्स्न्य: 4 viramas in one grapheme)", "कार्त्स्न्य"],
    ["Thai (vowel and tone mark stacked)", "สมชาย ใจดี ที่นี้"],
    ["Persian with ZWNJ between two letters", "علی\u200Cزاده"],
    ["Persian with ZWNJ before a plural suffix", "کتاب\u200Cها"],
    ["Hindi with ZWNJ after a virama", "क्\u200Cष"],
    ["Arabic with full vowel marks", "عَبْدُ ٱللَّٰه"],
    ["Japanese kanji and kana", "山田 太郎 やまだ ヤマダ・タロウ"],
    ["Japanese mixing Latin with katakana", "Tシャツ屋"],
    ["Chinese", "王小明"],
    ["Korean", "김민준"],
    ["Tibetan stacks", "བསྟན་འཛིན་རྒྱ་མཚོ སྒྲོལ་མ"],
    ["a Tibetan Sanskrit stack of 6 marks (the cap)", "ཧྐྵྨྱཱྃ"],
    ["fully pointed Hebrew", "יְהוֹשֻׁעַ"],
    ["Greek, whole words", "Αλέξανδρος"],
    ["Cyrillic, whole words", "Александр Пушкин"],
    ["Latin and Cyrillic in different words", "Ivan Иванов"],
    ["Amharic", "አበበ ቢቂላ"],
    ["Latin letters with diacritics", "Zoë Ñandú O'Brien-Smith"],
    ["an emoji ZWJ sequence", "👨\u200D👩\u200D👧\u200D👦 family"],
    ["skin tones", "👍🏽 Sam 🫱🏻\u200D🫲🏿"],
    ["a ZWJ sequence with skin tones and a variation selector", "🧑🏻\u200D❤️\u200D💋\u200D🧑🏼"],
    ["flags built with a variation selector and ZWJ", "🏳️\u200D🌈 🏳️\u200D⚧️ 🇺🇦"],
    ["variation selectors after emoji, and a keycap", "❤️ ☺︎ 1️⃣"],
    ["digits and punctuation", "Room #42 (2026)"],
  ];
  it.each(accepted)("accepts %s", (_script, input) => {
    for (const field of Object.keys(names) as Field[]) {
      expect(parse(field, input), field).toEqual({ stored: input });
    }
  });

  it("stores NFC: decomposed Vietnamese is composed, so its marks are no longer combining", () => {
    expect(parse("displayName", "Nguye\u0302\u0303n")).toEqual({ stored: "Nguy\u1EC5n" });
    expect(parse("name", "  Cafe\u0301  ")).toEqual({ stored: "Caf\u00e9" });
  });

  // [what, input, the message (after "displayName " / "name ")]
  const refused: [string, string, string][] = [
    ["a Cyrillic а inside a Latin word (аdmin)", "\u0430dmin", "must not mix Latin and Cyrillic letters in one word"],
    ["a Greek Α inside a Latin word", "\u0391dmin", "must not mix Latin and Greek letters in one word"],
    ["a Cyrillic о inside a Greek word", "Αλέξ\u043Eνδρος", "must not mix Greek and Cyrillic letters in one word"],
    ["a confusable word among good ones", "Team p\u0430ypal support", "must not mix Latin and Cyrillic letters in one word"],
    ["a Hangul filler (U+3164) alone", "\u3164", "must not contain invisible or formatting characters (U+3164)"],
    ["a Hangul filler inside", "ad\u3164min", "must not contain invisible or formatting characters (U+3164)"],
    ["the other Hangul fillers", "a\u115Fb\u1160c\uFFA0", "must not contain invisible or formatting characters (U+115F)"],
    ["a soft hyphen", "ad\u00ADmin", "must not contain invisible or formatting characters (U+00AD)"],
    ["tag characters", "admin\u{E0061}\u{E0064}", "must not contain invisible or formatting characters (U+E0061)"],
    ["a tag-sequence flag (its tags are invisible elsewhere)", "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}", "must not contain invisible or formatting characters (U+E0067)"],
    ["60 combining marks", zalgo(60), "must not stack more than 6 combining marks on one character"],
    ["7 combining marks (one over the cap)", zalgo(7), "must not stack more than 6 combining marks on one character"],
    ["a lone high surrogate", "half \uD83D surrogate", "must be well-formed Unicode (no lone surrogates)"],
    ["a lone low surrogate", "\uDE00x", "must be well-formed Unicode (no lone surrogates)"],
    ["a right-to-left override", "evil\u202Eexe.txt", "must not contain invisible or formatting characters (U+202E)"],
    ["a left-to-right embedding", "\u202Aname", "must not contain invisible or formatting characters (U+202A)"],
    ["a bidi isolate", "\u2066isolate\u2069", "must not contain invisible or formatting characters (U+2066)"],
    ["a right-to-left mark", "name\u200F", "must not contain invisible or formatting characters (U+200F)"],
    ["an Arabic letter mark", "name\u061C", "must not contain invisible or formatting characters (U+061C)"],
    ["a zero-width space", "zero\u200Bwidth", "must not contain invisible or formatting characters (U+200B)"],
    ["a word joiner", "ad\u2060min", "must not contain invisible or formatting characters (U+2060)"],
    ["a byte-order mark inside", "ad\uFEFFmin", "must not contain invisible or formatting characters (U+FEFF)"],
    ["a combining grapheme joiner", "a\u034Fdmin", "must not contain invisible or formatting characters (U+034F)"],
    ["an interlinear annotation", "\uFFF9a\uFFFAb\uFFFB", "must not contain invisible or formatting characters (U+FFF9)"],
    ["a line separator", "two\u2028lines", "must not contain invisible or formatting characters (U+2028)"],
    ["a ZWJ between letters", "ad\u200Dmin", "may use U+200D (zero-width joiner) only inside an emoji sequence"],
    ["a ZWJ at the end of an emoji", "👍\u200D", "may use U+200D (zero-width joiner) only inside an emoji sequence"],
    ["a ZWNJ between Latin letters", "ad\u200Cmin", "may use U+200C (zero-width non-joiner) only between two letters of a script that needs it (Arabic, Indic)"],
    ["a ZWNJ at the end of a Persian word", "علی\u200C", "may use U+200C (zero-width non-joiner) only between two letters of a script that needs it (Arabic, Indic)"],
    ["a ZWNJ between Arabic and Latin", "علی\u200Cx", "may use U+200C (zero-width non-joiner) only between two letters of a script that needs it (Arabic, Indic)"],
    ["a variation selector after a letter", "admin\uFE0F", "may use U+FE0F (variation selector) only right after an emoji"],
    ["a variation selector after a digit without a keycap", "user1\uFE0F", "may use U+FE0F (variation selector) only right after an emoji"],
    ["another variation selector", "葛\u{E0100}", "must not contain invisible or formatting characters (U+E0100)"],
    ["NUL", "nul\u0000", "must not contain control characters"],
    ["BEL", "bell\u0007", "must not contain control characters"],
    ["a newline inside", "two\nlines", "must not contain control characters"],
    ["a tab inside", "tab\there", "must not contain control characters"],
    ["DEL", "del\u007F", "must not contain control characters"],
    ["a C1 control (NEL)", "nel\u0085x", "must not contain control characters"],
    ["nothing", "", "must not be empty"],
    ["only spaces", " \t\u3000 ", "must not be empty"],
  ];
  it.each(refused)("refuses %s", (_what, input, message) => {
    for (const field of Object.keys(names) as Field[]) {
      expect(parse(field, input), field).toEqual({ refused: [`${field} ${message}`] });
    }
  });

  it("counts characters as code points after NFC: 64 for a display name, 80 for a room name", () => {
    expect(parse("displayName", "d".repeat(64))).toEqual({ stored: "d".repeat(64) });
    expect(parse("displayName", "d".repeat(65))).toEqual({ refused: ["displayName must be at most 64 characters"] });
    expect(parse("displayName", "e\u0301".repeat(64))).toEqual({ stored: "\u00e9".repeat(64) });
    expect(parse("name", "👍".repeat(80))).toEqual({ stored: "👍".repeat(80) });
    expect(parse("name", "n".repeat(81))).toEqual({ refused: ["name must be at most 80 characters"] });
    expect(parse("name", "x".repeat(100_000))).toEqual({ refused: ["name must be at most 80 characters"] });
  });
});

describe.each(databaseKinds)("human names through the API on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  /** The field-level issues of a BAD_REQUEST from input validation. */
  async function fieldIssues(promise: Promise<unknown>): Promise<{ path: PropertyKey[]; message: string }[]> {
    const error = await trpcError(promise);
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.cause).toBeInstanceOf(ZodError);
    return (error.cause as ZodError).issues.map(({ path, message }) => ({ path, message }));
  }

  it("refuses a confusable, invisible or Zalgo name in users.updateMe, auth.register, rooms.create and rooms.update", async () => {
    const user = await createUser(deps.database);
    const caller = callerFor(deps.services, user.id);
    const room = await caller.rooms.create({ name: token(), kind: "public" });
    const anonymous = createCaller(createInnerContext({ services: deps.services }));
    const username = uniqueUsername("names");

    expect(await fieldIssues(caller.users.updateMe({ displayName: "\u0430dmin" }))).toEqual([
      { path: ["displayName"], message: "displayName must not mix Latin and Cyrillic letters in one word" },
    ]);
    expect(
      await fieldIssues(
        anonymous.auth.register({ email: `${username}@example.test`, username, password: "a long passphrase", displayName: "\u3164" }),
      ),
    ).toEqual([{ path: ["displayName"], message: "displayName must not contain invisible or formatting characters (U+3164)" }]);
    expect(await fieldIssues(caller.rooms.create({ name: "ad\u00ADmin", kind: "public" }))).toEqual([
      { path: ["name"], message: "name must not contain invisible or formatting characters (U+00AD)" },
    ]);
    expect(await fieldIssues(caller.rooms.update({ roomId: room.id, name: zalgo(60) }))).toEqual([
      { path: ["name"], message: "name must not stack more than 6 combining marks on one character" },
    ]);

    // Nothing was changed or created.
    expect(await deps.services.users.get(user.id, user.id)).toMatchObject(user);
    expect(await deps.services.rooms.get(user.id, room.id)).toEqual(room);
    expect((await caller.rooms.discover({ query: "ad\u00ADmin" })).items).toEqual([]);
  });
});
