import nodemailer from "nodemailer";
import type { Logger } from "../../lib/logger.ts";
import type { Mailer } from "./mail.ts";

/**
 * Email over SMTP (SMTP_URL: `smtp://user:pass@host:587` upgrades with STARTTLS when offered, `smtps://…:465` is TLS
 * from the start). Each message gets its own connection (nodemailer pools only when the URL asks, `?pool=true`): a
 * refused or unreachable server rejects `send`, and the job is retried.
 */
export function createSmtpMailer(options: { url: string; from: string; logger: Logger }): Mailer {
  // nodemailer's own timeouts are minutes long (10 for an idle socket): a server that accepts and then stalls would
  // hold an outbox slot, its lease kept alive, all that time. A failed send is retried with backoff instead.
  const transport = nodemailer.createTransport({ url: options.url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
  // The URL may carry a password: only its host goes to the log.
  options.logger.info("email goes out over SMTP", { host: new URL(options.url).host });
  return {
    async send(mail) {
      const info = await transport.sendMail({ from: options.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
      return { messageId: info.messageId };
    },
    async close() {
      transport.close();
    },
  };
}
