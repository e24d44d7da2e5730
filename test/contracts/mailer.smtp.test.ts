import { createSmtpMailer } from "../../src/infra/mail/smtp.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { startSmtpSink } from "../support/smtp-sink.ts";
import { mailerContract } from "./mailer.contract.ts";

mailerContract("SMTP (to a real SMTP server in the test process)", async (from) => {
  const sink = await startSmtpSink();
  const mailer = createSmtpMailer({ url: sink.url, from, logger: createLogger({ level: "silent" }) });
  return {
    mailer,
    delivered: async (to) => (await sink.next(to)).parsed,
    async close() {
      await mailer.close();
      await sink.stop();
    },
  };
});
