import type { AddressInfo } from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/** An email as a real SMTP server received it: the envelope, and the message parsed back from its MIME. */
export interface ReceivedMail {
  envelopeTo: string[];
  parsed: ParsedMail;
}

export interface SmtpSinkOptions {
  /**
   * How long the sink holds each message, received in full, before it answers 250 (a slow server): the sender sits
   * mid-send meanwhile. A message whose sender hangs up during the hold never heard it was accepted, so it is not
   * delivered — it goes to `abandoned`, as a server that only takes responsibility with its 250 would have it.
   */
  holdMs?: number;
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
  /** Every message delivered so far, to anyone, in order. */
  received(): ReceivedMail[];
  /** Messages received in full whose sender hung up before the sink's 250 (only with `holdMs`): not delivered. */
  abandoned(): ReceivedMail[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  const abandoned: ReceivedMail[] = [];
  const taken = new Set<ReceivedMail>();
  const waiters: { to: string; resolve(mail: ReceivedMail): void }[] = [];
  /** Sessions whose connection closed (by id): a held message of one of them was never acknowledged. */
  const hungUp = new Set<string>();
  const deliver = (mail: ReceivedMail): void => {
    received.push(mail);
    const index = waiters.findIndex((waiter) => mail.envelopeTo.includes(waiter.to));
    if (index === -1) return;
    const [waiter] = waiters.splice(index, 1);
    taken.add(mail);
    waiter!.resolve(mail);
  };
  const hold = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const makeServer = (): SMTPServer =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onData(stream, session, callback) {
        simpleParser(stream)
          .then(async (parsed) => {
            const mail = { envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()), parsed };
            if (options.holdMs) await hold(options.holdMs);
            if (hungUp.has(session.id)) abandoned.push(mail);
            else deliver(mail);
            callback();
          })
          .catch((error: Error) => callback(error));
      },
      onClose(session) {
        hungUp.add(session.id);
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
        const waiter = {
          to: address,
          resolve: (mail: ReceivedMail) => {
            clearTimeout(timer);
            resolve(mail);
          },
        };
        // A waiter that gave up takes nothing: the message stays for the next `next`.
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no email to ${to} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    all(to) {
      return received.filter((mail) => mail.envelopeTo.includes(to.toLowerCase()));
    },
    received: () => [...received],
    abandoned: () => [...abandoned],
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    async start() {
      server = makeServer();
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    },
  };
}
