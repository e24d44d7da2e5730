import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ParsedMail, simpleParser } from "mailparser";
import { expect, it } from "vitest";
import { createEmlFileMailer } from "../../src/infra/mail/eml-files.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { mailerContract } from "./mailer.contract.ts";

async function parsedIn(dir: string): Promise<{ file: string; mail: ParsedMail }[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith(".eml"));
  return Promise.all(files.map(async (file) => ({ file, mail: await simpleParser(await readFile(join(dir, file))) })));
}

mailerContract(".eml files (DATA_DIR/mail)", async (from) => {
  const dir = await mkdtemp(join(tmpdir(), "parley-mail-"));
  const mailer = await createEmlFileMailer({ dir: join(dir, "mail"), from, logger: createLogger({ level: "silent" }) });
  const seen = new Set<string>();
  return {
    mailer,
    async delivered(to) {
      const found = (await parsedIn(join(dir, "mail"))).find(
        ({ file, mail }) => !seen.has(file) && mail.to && !Array.isArray(mail.to) && mail.to.value.some((a) => a.address === to),
      );
      if (!found) throw new Error(`no .eml file to ${to}`);
      seen.add(found.file);
      return found.mail;
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

it("logs where the files are, at startup and for each email, as file:// links", async () => {
  const dir = await mkdtemp(join(tmpdir(), "parley-mail-"));
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "info", write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const mailer = await createEmlFileMailer({ dir: join(dir, "mail"), from: "p@example.test", logger });
  expect(lines[0]).toMatchObject({ msg: "no SMTP_URL: emails are written as .eml files", dir: `file://${join(dir, "mail")}` });
  await mailer.send({ to: "a@example.test", subject: "hi", text: "t", html: "<p>t</p>" });
  const [file] = await readdir(join(dir, "mail"));
  expect(lines[1]).toMatchObject({ msg: "email written", file: `file://${join(dir, "mail", file!)}` });
  await rm(dir, { recursive: true, force: true });
});
