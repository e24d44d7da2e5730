import { z } from "zod";

const CONTROL = /\p{Cc}/u;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_BUT_NEWLINE_AND_TAB = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;

/**
 * The rule every string input that reaches SQL obeys (names, queries, logins, bodies, cursor keys):
 * - well-formed Unicode: a lone surrogate has no UTF-8 encoding, so the drivers would store U+FFFD in its place;
 * - no control characters (C0, DEL, C1): Postgres refuses NUL in text with an error, and none of the others belongs
 *   in a name, a query or a message. Multi-line fields (`lines: "many"`) keep newline and tab.
 *
 * A check, so it composes with trimming and normalising: `z.string().trim().check(plainText({ field: "query" }))`.
 * It aborts the schema on failure: later checks never see text like this.
 */
export function plainText(options: { field: string; lines?: "one" | "many" }): z.core.$ZodCheck<string> {
  const { field, lines = "one" } = options;
  const control = lines === "many" ? CONTROL_BUT_NEWLINE_AND_TAB : CONTROL;
  const controlMessage =
    lines === "many" ? `${field} must not contain control characters other than newline and tab` : `${field} must not contain control characters`;
  return z.superRefine((value: string, ctx) => {
    if (!value.isWellFormed()) {
      ctx.addIssue({ code: "custom", message: `${field} must be well-formed Unicode (no lone surrogates)`, input: value, continue: false });
    } else if (control.test(value)) {
      ctx.addIssue({ code: "custom", message: controlMessage, input: value, continue: false });
    }
  });
}
