import type { ParsedMail } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Mailer } from "../../src/infra/mail/mail.ts";

/** A mailer under test, and a way to read back what it delivered (what an SMTP server or a mail client would see). */
export interface MailerUnderTest {
  mailer: Mailer;
  /** The next message delivered to `to`, parsed from its MIME. */
  delivered(to: string): Promise<ParsedMail>;
  close(): Promise<void>;
}

const FROM = "Parley <parley@example.test>";
const unique = (): string => `u${Math.random().toString(36).slice(2, 10)}@example.test`;

/** The Mailer contract: every implementation delivers the same message, both bodies and the sender, intact. */
export function mailerContract(name: string, open: (from: string) => Promise<MailerUnderTest>): void {
  describe(`Mailer contract: ${name}`, () => {
    let subject: MailerUnderTest;
    beforeAll(async () => {
      subject = await open(FROM);
    });
    afterAll(async () => {
      await subject?.close();
    });

    it("delivers the message to its recipient, from MAIL_FROM, with its subject and both bodies", async () => {
      const to = unique();
      const { messageId } = await subject.mailer.send({ to, subject: "Verify your email", text: "Open https://chat.example/x", html: "<p>Open <a href=\"https://chat.example/x\">it</a></p>" });
      expect(messageId).toMatch(/^<.+@.+>$/);
      const mail = await subject.delivered(to);
      expect(mail.messageId).toBe(messageId);
      expect(mail.subject).toBe("Verify your email");
      expect(mail.from?.value).toEqual([{ address: "parley@example.test", name: "Parley" }]);
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.value.map((a) => a.address) : []).toEqual([to]);
      expect(mail.text?.trim()).toBe("Open https://chat.example/x");
      expect(mail.html).toContain('<a href="https://chat.example/x">it</a>');
    });

    it("keeps non-ASCII subjects and bodies intact", async () => {
      const to = unique();
      await subject.mailer.send({ to, subject: "Zoë — ваш код ✓", text: "Grüße, 你好 🎉", html: "<p>Grüße, 你好 🎉</p>" });
      const mail = await subject.delivered(to);
      expect(mail.subject).toBe("Zoë — ваш код ✓");
      expect(mail.text?.trim()).toBe("Grüße, 你好 🎉");
      expect(mail.html).toContain("Grüße, 你好 🎉");
    });

    it("gives every message its own id", async () => {
      const to = unique();
      const first = await subject.mailer.send({ to, subject: "one", text: "1", html: "<p>1</p>" });
      const second = await subject.mailer.send({ to, subject: "two", text: "2", html: "<p>2</p>" });
      expect(first.messageId).not.toBe(second.messageId);
      const subjects = [(await subject.delivered(to)).subject, (await subject.delivered(to)).subject];
      expect(subjects.sort()).toEqual(["one", "two"]);
    });
  });
}
