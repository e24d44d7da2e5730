import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import nodemailer from "nodemailer";
import type { Logger } from "../../lib/logger.ts";
import type { Mailer } from "./mail.ts";

/**
 * The embedded default without SMTP: each email is composed exactly as it would be sent and written as an `.eml`
 * file (any mail client opens it) under `dir` (DATA_DIR/mail). The log says where, at startup and for each email,
 * so someone running `npm start` can open the link in it.
 */
export async function createEmlFileMailer(options: { dir: string; from: string; logger: Logger }): Promise<Mailer> {
  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true });
  // Composes the MIME message (headers, both bodies, encodings) without sending it anywhere.
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  options.logger.info("no SMTP_URL: emails are written as .eml files", { dir: pathToFileURL(dir).href });
  let written = 0;
  return {
    async send(mail) {
      const info = await composer.sendMail({ from: options.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
      // Sortable by time; the counter keeps two emails of one millisecond apart.
      written += 1;
      const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}-${written}.eml`;
      const path = join(dir, name);
      await writeFile(path, info.message, { flag: "wx" });
      options.logger.info("email written", { file: pathToFileURL(path).href, subject: mail.subject });
      return { messageId: info.messageId };
    },
    async close() {},
  };
}
