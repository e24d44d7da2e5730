import { type Context, Hono } from "hono";
import type { RequestMeta } from "../../domain/auth/auth.schema.ts";
import { ResetPasswordInput, VerifyEmailInput } from "../../domain/email/account-email.schema.ts";
import type { Services } from "../../domain/services.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import { bodyLimit } from "./body-limit.ts";

/*
 * The two pages the emails link to (PUBLIC_URL/verify-email and /reset-password), for a server that serves no web
 * app of its own: plain HTML forms, no script, so they work on the embedded default and need nothing but this
 * server. Opening a link changes nothing — link scanners in mail systems open every link — a button press does (a
 * POST of the token, which is the only credential involved, so there is nothing for CSRF to forge). Pages carry
 * no-referrer (the token is in the URL), no-store, and a CSP that allows no script at all.
 */

const CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** A form of these two is a token and two passwords: a few hundred bytes. */
const MAX_FORM_BYTES = 8 * 1024;

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);

function page(c: Context, status: 200 | 400 | 429, title: string, body: string): Response {
  c.header("content-security-policy", CSP);
  c.header("referrer-policy", "no-referrer");
  c.header("cache-control", "no-store");
  return c.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${escapeHtml(title)} · Parley</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}` +
      `label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.5rem;box-sizing:border-box}button{margin-top:1rem;padding:.5rem 1rem}` +
      `.error{color:#b00020}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    status,
  );
}

/** The user's words for a refusal: the domain's message for its typed errors, a generic line for anything else. */
function refusalText(error: unknown): { status: 400 | 429; text: string } {
  if (error instanceof DomainError) {
    if (error.code === "TOO_MANY_REQUESTS") return { status: 429, text: "Too many attempts from here; wait a minute and try again." };
    if (error.reason === "EMAIL_TOKEN") return { status: 400, text: "This link has expired or was already used. Ask for a new one." };
    return { status: 400, text: error.message };
  }
  throw error;
}

const tokenField = (token: string): string => `<input type="hidden" name="token" value="${escapeHtml(token)}">`;
const formText = (value: unknown): string => (typeof value === "string" ? value : "");

export function accountPages(deps: {
  services: Pick<Services, "auth">;
  clientIp(c: Context): string | null;
  logger: Logger;
  /** Where this server serves its web app ("/"), linked from the pages that finish; null when it serves none. */
  appHome: string | null;
}): Hono {
  const app = new Hono();
  const meta = (c: Context): RequestMeta => ({ ip: deps.clientIp(c), userAgent: c.req.header("user-agent")?.slice(0, 256) ?? null });
  const limit = bodyLimit({ maxBytes: MAX_FORM_BYTES, drainBytes: MAX_FORM_BYTES, onOversize: (refusal) => deps.logger.info("oversize form refused", { ...refusal }) });

  const backToApp = deps.appHome === null ? "" : `<p><a href="${escapeHtml(deps.appHome)}">Open Parley</a></p>`;
  const verifyForm = (token: string, error?: string): string =>
    (error ? `<p class="error">${escapeHtml(error)}</p>` : "") +
    `<p>Confirm this address for your Parley account.</p><form method="post" action="/verify-email">${tokenField(token)}<button type="submit">Verify my email address</button></form>`;
  const resetForm = (token: string, error?: string): string =>
    (error ? `<p class="error">${escapeHtml(error)}</p>` : "") +
    `<form method="post" action="/reset-password">${tokenField(token)}` +
    `<label for="password">New password</label><input id="password" name="newPassword" type="password" autocomplete="new-password" minlength="8" maxlength="256" required>` +
    `<label for="again">The same again</label><input id="again" name="again" type="password" autocomplete="new-password" minlength="8" maxlength="256" required>` +
    `<button type="submit">Set my new password</button></form><p>Every device signed in to the account is signed out.</p>`;

  app.get("/verify-email", (c) => page(c, 200, "Verify your email address", verifyForm(c.req.query("token") ?? "")));
  app.post("/verify-email", limit, async (c) => {
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = formText(form.token);
    const input = VerifyEmailInput.safeParse({ token });
    if (!input.success) return page(c, 400, "Verify your email address", `<p class="error">This link is not a Parley link. Copy it from the email again.</p>`);
    try {
      const verified = await deps.services.auth.verifyEmail(input.data, meta(c));
      return page(c, 200, "Email address verified", `<p>${escapeHtml(verified.email)} is verified. You can close this page.</p>${backToApp}`);
    } catch (error) {
      const refused = refusalText(error);
      return page(c, refused.status, "Verify your email address", verifyForm(token, refused.text));
    }
  });

  app.get("/reset-password", (c) => page(c, 200, "Choose a new password", resetForm(c.req.query("token") ?? "")));
  app.post("/reset-password", limit, async (c) => {
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = formText(form.token);
    const newPassword = formText(form.newPassword);
    if (newPassword !== formText(form.again)) return page(c, 400, "Choose a new password", resetForm(token, "The two passwords differ."));
    const input = ResetPasswordInput.safeParse({ token, newPassword });
    if (!input.success) {
      const text = input.error.issues.some((issue) => issue.path[0] === "token")
        ? "This link is not a Parley link. Copy it from the email again."
        : input.error.issues.map((issue) => issue.message).join("; ");
      return page(c, 400, "Choose a new password", resetForm(token, text));
    }
    try {
      await deps.services.auth.resetPassword(input.data, meta(c));
      return page(c, 200, "Password changed", `<p>Your password is changed and every device was signed out. Sign in with the new one.</p>${backToApp}`);
    } catch (error) {
      const refused = refusalText(error);
      return page(c, refused.status, "Choose a new password", resetForm(token, refused.text));
    }
  });
  return app;
}
