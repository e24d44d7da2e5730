/** One email, as the domain renders it: both bodies, always (a text-only client still gets the link). */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * Sends email. `send` resolves once the message is handed over (accepted by the SMTP server, or written to disk) and
 * rejects when it was not: the outbox then retries the job. The sender address is the implementation's (MAIL_FROM).
 */
export interface Mailer {
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
  close(): Promise<void>;
}
