import type { OutgoingMail } from "../../infra/mail/mail.ts";

/*
 * Every email Parley sends, as small typed functions: text and HTML from the same facts. Nothing a user typed becomes
 * markup (a display name is escaped), and every link is built here on PUBLIC_URL, never taken from input.
 */

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** A link into the app: PUBLIC_URL, a fixed path, and the token as its only query parameter. */
export function appLink(publicUrl: string, path: "/verify-email" | "/reset-password", token: string): string {
  const url = new URL(path, `${publicUrl}/`);
  url.searchParams.set("token", token);
  return url.toString();
}

interface Layout {
  to: string;
  subject: string;
  /** Paragraphs of plain text (escaped in the HTML). */
  paragraphs: string[];
  action?: { label: string; url: string };
}

function render({ to, subject, paragraphs, action }: Layout): OutgoingMail {
  const text = [...paragraphs, ...(action ? [`${action.label}: ${action.url}`] : []), "— Parley"].join("\n\n") + "\n";
  const html = [
    "<!doctype html>",
    `<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body style="font-family:sans-serif">`,
    ...paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`),
    ...(action
      ? [`<p><a href="${escapeHtml(action.url)}">${escapeHtml(action.label)}</a></p>`, `<p style="color:#666">${escapeHtml(action.url)}</p>`]
      : []),
    "<p>— Parley</p>",
    "</body></html>",
  ].join("\n");
  return { to, subject, text, html };
}

export function verificationEmail(input: { to: string; displayName: string; link: string }): OutgoingMail {
  return render({
    to: input.to,
    subject: "Verify your email for Parley",
    paragraphs: [`Hi ${input.displayName},`, "Please confirm that this is your email address. The link works once, for 24 hours."],
    action: { label: "Verify my email", url: input.link },
  });
}

export function passwordResetEmail(input: { to: string; displayName: string; link: string }): OutgoingMail {
  return render({
    to: input.to,
    subject: "Reset your Parley password",
    paragraphs: [
      `Hi ${input.displayName},`,
      "Someone (hopefully you) asked to reset your password. The link works once, for 30 minutes, and signs you out everywhere.",
      "If it was not you, ignore this email: your password stays as it is.",
    ],
    action: { label: "Choose a new password", url: input.link },
  });
}

export function emailChangeConfirmation(input: { to: string; displayName: string; link: string }): OutgoingMail {
  return render({
    to: input.to,
    subject: "Confirm your new email for Parley",
    paragraphs: [
      `Hi ${input.displayName},`,
      "Your Parley account asked to use this address from now on. Confirm it within 24 hours; until then the old address stays.",
    ],
    action: { label: "Use this address", url: input.link },
  });
}

export function emailChangeNotice(input: { to: string; displayName: string; newEmail: string }): OutgoingMail {
  return render({
    to: input.to,
    subject: "Your Parley email is being changed",
    paragraphs: [
      `Hi ${input.displayName},`,
      `Your Parley account asked to change its email address to ${input.newEmail}. It changes once that address confirms.`,
      "If this was not you, change your password now and tell your administrator.",
    ],
  });
}
