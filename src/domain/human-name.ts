import { z } from "zod";
import { plainText } from "./plain-text.ts";

/**
 * Combining marks one user-perceived character (grapheme cluster) may carry. Six is what real orthographies need at
 * most — a Sanskrit conjunct in Devanagari (र्त्स्न्य + vowel sign + anusvara: its viramas are marks), a Tibetan
 * Sanskrit stack (ཧྐྵྨྱཱྃ), fully pointed Biblical Hebrew (≤ 5); everyday Vietnamese (after NFC), Thai and Tibetan
 * need 0–3 — while Zalgo text piles 10 to 100 onto a letter to spill over the lines around it.
 */
export const MAX_MARKS_PER_CHARACTER = 6;

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * Invisible or formatting code points: default-ignorables (U+3164, soft hyphen, tags, variation selectors, …),
 * format characters (bidi controls, ZWSP, …), line and paragraph separators.
 */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Zl}\p{Zp}]/u;
const ZWJ = "\u200D";
const ZWNJ = "\u200C";
const TEXT_PRESENTATION = "\uFE0E";
const EMOJI_PRESENTATION = "\uFE0F";
const KEYCAP = "\u20E3";
const PICTOGRAPHIC = /^\p{Extended_Pictographic}$/u;
const SKIN_TONE = /^\p{Emoji_Modifier}$/u;
const KEYCAP_BASE = /^[0-9#*]$/;
const LETTER = /^\p{L}$/u;
const LETTER_OR_MARK = /^[\p{L}\p{M}]$/u;
const MARK = /\p{M}/gu;
/**
 * Scripts whose spelling needs ZWNJ between letters: Persian, Urdu, Kurdish (Arabic script) write it before suffixes
 * (کتاب‌ها), Syriac likewise, and the Indic scripts use it after a virama to prevent a conjunct (क्‌ष).
 */
const ZWNJ_SCRIPTS = [
  "Arabic",
  "Syriac",
  "Devanagari",
  "Bengali",
  "Gurmukhi",
  "Gujarati",
  "Oriya",
  "Tamil",
  "Telugu",
  "Kannada",
  "Malayalam",
  "Sinhala",
].map((script) => new RegExp(`^\\p{Script_Extensions=${script}}$`, "u"));
/** Scripts with look-alike letters (Latin a, Cyrillic а, Greek α): one word may use only one of them. */
const CONFUSABLE_SCRIPTS = [
  { script: "Latin", letter: /\p{Script=Latin}/u },
  { script: "Greek", letter: /\p{Script=Greek}/u },
  { script: "Cyrillic", letter: /\p{Script=Cyrillic}/u },
];

const codePointLabel = (char: string): string => `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;

/** Whether the invisible `chars[at]` is one a real name needs there; every other invisible character is refused. */
function invisibleProblem(field: string, chars: readonly string[], at: number): string | null {
  const char = chars[at] ?? "";
  const before = chars[at - 1] ?? "";
  const after = chars[at + 1] ?? "";
  switch (char) {
    case ZWJ: {
      // Inside an emoji ZWJ sequence: pictograph (+ skin tone or VS16) ZWJ pictograph, as in 👩🏽‍💻 or 🏳️‍🌈.
      const element = SKIN_TONE.test(before) || before === EMOJI_PRESENTATION ? (chars[at - 2] ?? "") : before;
      return PICTOGRAPHIC.test(element) && PICTOGRAPHIC.test(after)
        ? null
        : `${field} may use U+200D (zero-width joiner) only inside an emoji sequence`;
    }
    case TEXT_PRESENTATION:
    case EMOJI_PRESENTATION:
      // After an emoji (❤️, ☺︎), or in a keycap (1️⃣) — never after a letter or digit, where it would only hide.
      return PICTOGRAPHIC.test(before) || (KEYCAP_BASE.test(before) && after === KEYCAP)
        ? null
        : `${field} may use ${codePointLabel(char)} (variation selector) only right after an emoji`;
    case ZWNJ:
      return LETTER_OR_MARK.test(before) && LETTER.test(after) && ZWNJ_SCRIPTS.some((script) => script.test(before) && script.test(after))
        ? null
        : `${field} may use U+200C (zero-width non-joiner) only between two letters of a script that needs it (Arabic, Indic)`;
    default:
      return `${field} must not contain invisible or formatting characters (${codePointLabel(char)})`;
  }
}

/** The first rule `name` (NFC, trimmed, plain text) breaks, as a message naming `field`; null if it breaks none. */
function nameProblem(field: string, maxChars: number, name: string): string | null {
  const chars = [...name];
  if (chars.length === 0) return `${field} must not be empty`;
  for (let at = 0; at < chars.length; at++) {
    if (!INVISIBLE.test(chars[at] ?? "")) continue;
    const problem = invisibleProblem(field, chars, at);
    if (problem) return problem;
  }
  for (const { segment } of graphemes.segment(name)) {
    if ((segment.match(MARK)?.length ?? 0) > MAX_MARKS_PER_CHARACTER) {
      return `${field} must not stack more than ${MAX_MARKS_PER_CHARACTER} combining marks on one character`;
    }
  }
  for (const word of name.split(/\s+/u)) {
    // Common and Inherited characters (digits, punctuation, combining accents) belong to no script here.
    const scripts = CONFUSABLE_SCRIPTS.filter(({ letter }) => letter.test(word)).map(({ script }) => script);
    if (scripts.length > 1) {
      return `${field} must not mix ${scripts.slice(0, -1).join(", ")} and ${scripts.at(-1)} letters in one word`;
    }
  }
  // Last, so a Zalgo or invisible-character name is told what is wrong with it rather than that it is long.
  if (chars.length > maxChars) return `${field} must be at most ${maxChars} characters`;
  return null;
}

/**
 * A name people see next to messages and in lists — a display name, a room name: NFC, trimmed, then
 * - plain text (well-formed, no control characters) of 1 to `maxChars` characters (code points: the same count
 *   on every runtime and in Postgres, whatever its Unicode tables);
 * - nothing invisible or formatting, except what real names need: ZWJ inside emoji sequences, VS15/VS16 after an
 *   emoji, ZWNJ between two letters of a script that needs it;
 * - at most MAX_MARKS_PER_CHARACTER combining marks per character (grapheme cluster);
 * - no word mixing Latin, Greek and Cyrillic letters ("аdmin" with a Cyrillic а). Whole-script words are fine.
 * A refused name gets one issue, for the first rule it breaks, naming `field`.
 */
export function humanName(options: { field: string; maxChars: number }): z.ZodType<string, string> {
  const { field, maxChars } = options;
  return (
    z
      .string()
      // Cheap bound before normalising and segmenting: NFC composes at most 4 UTF-16 units into one character.
      .max(maxChars * 8, `${field} must be at most ${maxChars} characters`)
      .transform((value) => value.normalize("NFC").trim())
      .pipe(
        z
          .string()
          .check(plainText({ field }))
          .superRefine((name, ctx) => {
            const problem = nameProblem(field, maxChars, name);
            if (problem) ctx.addIssue({ code: "custom", message: problem, input: name });
          }),
      )
  );
}
