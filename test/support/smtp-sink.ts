import type { AddressInfo } from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/** An email as a real SMTP server received it: the envelope, and the message parsed back from its MIME. */
export interface ReceivedMail {
  envelopeTo: string[];
  parsed: ParsedMail;
}

/**
 * A real SMTP server in the test process (the `smtp-server` package): it speaks the protocol, accepts every message
 * and parses what arrived. `stop` takes it down and `start` brings it back on the same port (SMTP outages).
 */
export interface SmtpSink {
  url: string;
  /** Resolves with the next message to `to` (one already received and not yet taken counts). */
  next(to: string, timeoutMs?: number): Promise<ReceivedMail>;
  /** Every message received so far to `to`, taken or not. */
  all(to: string): ReceivedMail[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  const taken = new Set<ReceivedMail>();
  const waiters: { to: string; resolve(mail: ReceivedMail): void }[] = [];
  const deliver = (mail: ReceivedMail): void => {
    received.push(mail);
    const index = waiters.findIndex((waiter) => mail.envelopeTo.includes(waiter.to));
    if (index === -1) return;
    const [waiter] = waiters.splice(index, 1);
    taken.add(mail);
    waiter!.resolve(mail);
  };
  const makeServer = (): SMTPServer =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onData(stream, session, callback) {
        simpleParser(stream)
          .then((parsed) => {
            deliver({ envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()), parsed });
            callback();
          })
          .catch((error: Error) => callback(error));
      },
    });
  let server = makeServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    next(to, timeoutMs = 5000) {
      const address = to.toLowerCase();
      const waiting = received.find((mail) => !taken.has(mail) && mail.envelopeTo.includes(address));
      if (waiting) {
        taken.add(waiting);
        return Promise.resolve(waiting);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no email to ${to} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          to: address,
          resolve: (mail) => {
            clearTimeout(timer);
            resolve(mail);
          },
        });
      });
    },
    all(to) {
      return received.filter((mail) => mail.envelopeTo.includes(to.toLowerCase()));
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    async start() {
      server = makeServer();
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    },
  };
}
