import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IssuedTokens } from "../../src/domain/auth/auth.schema.ts";
import { mailJobHandlers } from "../../src/domain/email/mail-jobs.ts";
import type { JobKind, JobPayloads } from "../../src/domain/jobs/enqueue.ts";
import type { JobHandlers } from "../../src/domain/jobs/handlers.ts";
import { jobs, users } from "../../src/infra/db/schema.ts";
import { createSmtpMailer } from "../../src/infra/mail/smtp.ts";
import type { Mailer } from "../../src/infra/mail/mail.ts";
import { databaseKinds } from "../support/databases.ts";
import { uniqueUsername } from "../support/factories.ts";
import { type SmtpSink, startSmtpSink } from "../support/smtp-sink.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { domainError } from "./trpc-calls.ts";
import { token as uniqueToken } from "./room-fixtures.ts";

const PUBLIC_URL = "https://chat.example.test";
const PASSWORD = "correct horse battery staple";
const META = { ip: "203.0.113.7", userAgent: "spec" };
const BAD_LINK = { code: "BAD_REQUEST", message: "this link is invalid, used or expired", reason: "EMAIL_TOKEN" };

/**
 * Email verification, password reset and email change, end to end: the flows write tokens and jobs in their
 * transactions, the mail handlers (run here on the job rows, as the outbox worker would) send through a real SMTP
 * server, and the link in the email that arrived is what the next call uses.
 */
describe.each(databaseKinds)("account email on %s", (kind) => {
  let deps: TestDeps;
  let sink: SmtpSink;
  let mailer: Mailer;
  let handlers: JobHandlers;

  beforeAll(async () => {
    deps = await createTestDeps(kind, { rateLimits: { emailPerUser: { capacity: 2, periodSeconds: 3600 }, passwordResetPerEmail: { capacity: 3, periodSeconds: 3600 } } });
    sink = await startSmtpSink();
    mailer = createSmtpMailer({ url: sink.url, from: "Parley <parley@example.test>", logger: deps.logger });
    handlers = mailJobHandlers({ database: deps.database, mailer, publicUrl: PUBLIC_URL, logger: deps.logger, clock: deps.clock });
  });
  afterAll(async () => {
    await mailer?.close();
    await sink?.stop();
    await deps?.close();
  });

  const register = (): Promise<IssuedTokens> => {
    const username = uniqueUsername("mail");
    return deps.services.auth.register({ email: `${username}@example.test`, username, password: PASSWORD, displayName: `<b>${username}</b>`, refreshTokenIn: "body" }, META);
  };
  const sessionOf = (tokens: IssuedTokens) => deps.services.auth.verifyAccessToken(tokens.accessToken);

  /** Runs the user's queued jobs of this kind through the mail handlers, as the worker would; returns how many. */
  async function runJobs<K extends JobKind>(kind: K, userId: string): Promise<number> {
    const rows = await deps.database.db
      .select({ id: jobs.id, payload: jobs.payload })
      .from(jobs)
      .where(and(eq(jobs.kind, kind), eq(jobs.status, "queued"), sql`${jobs.payload}->>'userId' = ${userId}`));
    const handler = handlers[kind] as (payload: JobPayloads[K], context: { jobId: string; attempt: number }) => Promise<void>;
    for (const row of rows) {
      await handler(row.payload as JobPayloads[K], { jobId: row.id, attempt: 1 });
      await deps.database.db.update(jobs).set({ status: "done" }).where(eq(jobs.id, row.id));
    }
    return rows.length;
  }

  /** The token of the link in the email's text, checking the link is on PUBLIC_URL and the HTML has the same one. */
  async function linkTokenIn(to: string, path: string): Promise<string> {
    const { parsed } = await sink.next(to);
    const match = new RegExp(`${PUBLIC_URL}${path}\\?token=([A-Za-z0-9_-]{43})`).exec(parsed.text ?? "");
    expect(match, parsed.text).not.toBeNull();
    expect(parsed.html).toContain(`href="${PUBLIC_URL}${path}?token=${match![1]}"`);
    return match![1]!;
  }

  describe("verification", () => {
    it("sends the verification email on register; its link verifies once, and a second use fails", async () => {
      const tokens = await register();
      expect(tokens.user.emailVerified).toBe(false);
      expect(await runJobs("email.verify", tokens.user.id)).toBe(1);
      const mail = (await sink.next(tokens.user.email)).parsed;
      expect(mail.subject).toBe("Verify your email for Parley");
      // The display name is the user's own text: escaped in the HTML, never markup.
      expect(mail.html).toContain(`Hi &#60;b&#62;${tokens.user.username}&#60;/b&#62;,`);
      expect(mail.html).not.toContain("<b>");
      const token = /token=([A-Za-z0-9_-]{43})/.exec(mail.text ?? "")![1]!;
      expect(await deps.services.auth.verifyEmail({ token }, META)).toEqual({ verified: true, purpose: "verify", email: tokens.user.email });
      expect((await deps.services.auth.me(await sessionOf(tokens))).emailVerified).toBe(true);
      expect(await domainError(deps.services.auth.verifyEmail({ token }, META))).toMatchObject(BAD_LINK);
    });

    it("refuses an expired link (24 hours) and an unknown one alike", async () => {
      const tokens = await register();
      await runJobs("email.verify", tokens.user.id);
      const token = await linkTokenIn(tokens.user.email, "/verify-email");
      // The clock only moves forward (rate-limit buckets and sessions follow it); later specs start from there.
      deps.clock.advance(24 * 3600_000 + 1000);
      expect(await domainError(deps.services.auth.verifyEmail({ token }, META))).toMatchObject(BAD_LINK);
      expect(await domainError(deps.services.auth.verifyEmail({ token: "A".repeat(43) }, META))).toMatchObject(BAD_LINK);
    });

    it("does not send a verification to a user verified meanwhile (a job run twice sends nothing more)", async () => {
      const tokens = await register();
      await runJobs("email.verify", tokens.user.id);
      await deps.services.auth.verifyEmail({ token: await linkTokenIn(tokens.user.email, "/verify-email") }, META);
      const session = await sessionOf(tokens);
      expect(await deps.services.auth.resendVerification(session)).toEqual({ sent: false });
      expect(await runJobs("email.verify", tokens.user.id)).toBe(0);
      expect(sink.all(tokens.user.email)).toHaveLength(1);
    });

    it("resends on request, up to the per-user limit", async () => {
      const tokens = await register();
      const session = await sessionOf(tokens);
      expect(await deps.services.auth.resendVerification(session)).toEqual({ sent: true });
      expect(await deps.services.auth.resendVerification(session)).toEqual({ sent: true });
      expect(await domainError(deps.services.auth.resendVerification(session))).toMatchObject({ code: "TOO_MANY_REQUESTS" });
      expect(await runJobs("email.verify", tokens.user.id)).toBe(3);
      // Any of the links works; the newest here.
      await sink.next(tokens.user.email);
      await sink.next(tokens.user.email);
      expect((await deps.services.auth.verifyEmail({ token: await linkTokenIn(tokens.user.email, "/verify-email") }, META)).verified).toBe(true);
    });

    it("throws while SMTP is down (so the outbox retries) and delivers once it is back", async () => {
      const tokens = await register();
      const [job] = await deps.database.db.select({ payload: jobs.payload }).from(jobs).where(and(eq(jobs.kind, "email.verify"), sql`${jobs.payload}->>'userId' = ${tokens.user.id}`));
      const payload = job!.payload as JobPayloads["email.verify"];
      await sink.stop();
      try {
        await expect(handlers["email.verify"]!(payload, { jobId: "j", attempt: 1 })).rejects.toThrow();
      } finally {
        await sink.start();
      }
      await handlers["email.verify"]!(payload, { jobId: "j", attempt: 2 });
      expect((await deps.services.auth.verifyEmail({ token: await linkTokenIn(tokens.user.email, "/verify-email") }, META)).verified).toBe(true);
    });
  });

  describe("password reset", () => {
    it("resets the password by the emailed link, once, and signs out every session", async () => {
      const tokens = await register();
      const other = await deps.services.auth.login({ login: tokens.user.username, password: PASSWORD, refreshTokenIn: "body" }, META);
      const events = await deps.recordEvents({ userId: tokens.user.id });
      expect(await deps.services.auth.requestPasswordReset({ email: tokens.user.email }, META)).toEqual({ requested: true });
      expect(await runJobs("email.passwordReset", tokens.user.id)).toBe(1);
      const token = await linkTokenIn(tokens.user.email, "/reset-password");
      const reset = await deps.services.auth.resetPassword({ token, newPassword: "a brand new passphrase" }, META);
      expect(reset).toEqual({ passwordReset: true, revoked: 2 });
      for (const session of [tokens, other]) {
        expect(await domainError(deps.services.auth.verifyAccessToken(session.accessToken))).toMatchObject({ code: "UNAUTHORIZED" });
      }
      // Their sockets hear it (the realtime layer closes them on session.revoked).
      expect(events.filter((event) => event.type === "session.revoked")).toHaveLength(2);
      expect(await domainError(deps.services.auth.login({ login: tokens.user.username, password: PASSWORD, refreshTokenIn: "body" }, META))).toMatchObject({ code: "UNAUTHORIZED" });
      await deps.services.auth.login({ login: tokens.user.username, password: "a brand new passphrase", refreshTokenIn: "body" }, META);
      expect(await domainError(deps.services.auth.resetPassword({ token, newPassword: "another passphrase" }, META))).toMatchObject(BAD_LINK);
    });

    it("refuses a reset link after 30 minutes, and does not send one already used", async () => {
      const tokens = await register();
      await deps.services.auth.requestPasswordReset({ email: tokens.user.email }, META);
      await runJobs("email.passwordReset", tokens.user.id);
      const token = await linkTokenIn(tokens.user.email, "/reset-password");
      deps.clock.advance(30 * 60_000 + 1000);
      expect(await domainError(deps.services.auth.resetPassword({ token, newPassword: "a brand new passphrase" }, META))).toMatchObject(BAD_LINK);
      // A fresh link, used: a second run of its job (a crash after sending) sends nothing for the used token.
      await deps.services.auth.requestPasswordReset({ email: tokens.user.email }, META);
      await runJobs("email.passwordReset", tokens.user.id);
      const fresh = await linkTokenIn(tokens.user.email, "/reset-password");
      await deps.services.auth.resetPassword({ token: fresh, newPassword: "a brand new passphrase" }, META);
      await handlers["email.passwordReset"]!({ userId: tokens.user.id, token: fresh }, { jobId: "j", attempt: 2 });
      await handlers["email.passwordReset"]!({ userId: tokens.user.id, token }, { jobId: "j", attempt: 2 });
      expect(sink.all(tokens.user.email).filter((mail) => mail.parsed.subject === "Reset your Parley password")).toHaveLength(2);
    });

    it("answers the same for an unknown address, writes nothing, and limits requests per address", async () => {
      const before = await deps.database.db.select({ count: sql<number>`count(*)::int` }).from(jobs);
      const unknown = `${uniqueToken()}@example.test`;
      expect(await deps.services.auth.requestPasswordReset({ email: unknown }, META)).toEqual({ requested: true });
      const after = await deps.database.db.select({ count: sql<number>`count(*)::int` }).from(jobs);
      expect(after[0]!.count).toBe(before[0]!.count);
      await deps.services.auth.requestPasswordReset({ email: unknown }, META);
      await deps.services.auth.requestPasswordReset({ email: unknown }, META);
      expect(await domainError(deps.services.auth.requestPasswordReset({ email: unknown }, META))).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    });
  });

  describe("email change", () => {
    it("sends a link to the new address and a notice to the old; the address changes when the link is used", async () => {
      const tokens = await register();
      const session = await sessionOf(tokens);
      const newEmail = `${uniqueToken()}@example.test`;
      expect(await deps.services.auth.changeEmail(session, { newEmail, password: PASSWORD }, META)).toEqual({ pending: true });
      await runJobs("email.changeNotice", tokens.user.id);
      const notice = (await sink.next(tokens.user.email)).parsed;
      expect(notice.subject).toBe("Your Parley email is being changed");
      expect(notice.text).toContain(newEmail);
      await runJobs("email.changeConfirm", tokens.user.id);
      const token = await linkTokenIn(newEmail, "/verify-email");
      expect((await deps.services.auth.me(session)).email).toBe(tokens.user.email);
      expect(await deps.services.auth.verifyEmail({ token }, META)).toEqual({ verified: true, purpose: "change", email: newEmail });
      const me = await deps.services.auth.me(session);
      expect(me).toMatchObject({ email: newEmail, emailVerified: true });
      expect(await domainError(deps.services.auth.verifyEmail({ token }, META))).toMatchObject(BAD_LINK);
    });

    it("refuses a wrong password (UNAUTHORIZED), the own address, and an address taken before or at confirmation (CONFLICT)", async () => {
      const [ann, bob] = [await register(), await register()];
      const session = await sessionOf(ann);
      const change = (newEmail: string, password = PASSWORD) => deps.services.auth.changeEmail(session, { newEmail, password }, META);
      expect(await domainError(change(`${uniqueToken()}@example.test`, "wrong password!"))).toMatchObject({ code: "UNAUTHORIZED" });
      expect(await domainError(change(ann.user.email))).toMatchObject({ code: "BAD_REQUEST" });
      expect(await domainError(change(bob.user.email))).toMatchObject({ code: "CONFLICT" });
      const wanted = `${uniqueToken()}@example.test`;
      await change(wanted);
      await runJobs("email.changeConfirm", ann.user.id);
      const token = await linkTokenIn(wanted, "/verify-email");
      // Bob takes the address before Ann confirms.
      await deps.database.db.update(users).set({ email: wanted }).where(eq(users.id, bob.user.id));
      expect(await domainError(deps.services.auth.verifyEmail({ token }, META))).toMatchObject({ code: "CONFLICT" });
      expect((await deps.services.auth.me(session)).email).toBe(ann.user.email);
    });
  });
});
