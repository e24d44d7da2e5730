import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { UserProfile } from "../../src/contract.ts";
import type { Database } from "../../src/infra/db/database.ts";
import { createPostgresDatabase } from "../../src/infra/db/postgres.ts";
import { jobs } from "../../src/infra/db/schema.ts";
import { CloseCode } from "../../src/realtime/protocol.ts";
import { createPostgresTestDatabase } from "../support/databases.ts";
import { uniqueUsername } from "../support/factories.ts";
import { until } from "../support/fault-harness.ts";
import { bearer, createHttpProbe, type HttpProbe, type ProbeAnswer, resultOf } from "../support/http-probe.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";
import { type SmtpSink, startSmtpSink } from "../support/smtp-sink.ts";
import { openTestSocket } from "../support/socket-client.ts";

const postgresUrl = inject("postgresUrl");
const PUBLIC_URL = "https://chat.example.test";
const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a brand new battery staple";
const METRICS_TOKEN = "metrics-token-for-the-email-delivery-suite";

interface Registered {
  user: UserProfile;
  accessToken: string;
  refreshToken: string;
}

/**
 * Email as a user lives it, with nothing in between faked: a real Bun server on Postgres whose outbox worker sends
 * over SMTP to a real SMTP server in this process, spoken to over HTTP like any client. The link in the email that
 * arrived is what the next call uses; an SMTP outage delays the email (the job retries) but does not lose it.
 */
describe.skipIf(!postgresUrl)("email through the outbox, over the wire (Bun, Postgres, SMTP)", () => {
  let database: { url: string; drop(): Promise<void> };
  let db: Database;
  let sink: SmtpSink;
  let server: ServerProcess;
  let probe: HttpProbe;

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    sink = await startSmtpSink();
    server = await startServer("bun", {
      DATABASE_URL: database.url,
      SMTP_URL: sink.url,
      PUBLIC_URL,
      MAIL_FROM: "Parley <parley@example.test>",
      METRICS_TOKEN,
      // Quick polls and short retries, so an outage of a second or two is visible and then over.
      JOBS_POLL_INTERVAL_MS: "50",
      JOBS_RETRY_MIN_MS: "200",
      JOBS_RETRY_MAX_MS: "800",
      JOBS_MAX_ATTEMPTS: "20",
    });
    probe = createHttpProbe(server.url);
    db = await createPostgresDatabase({ url: database.url, poolSize: 2 });
  });

  afterAll(async () => {
    const code = await server?.stop();
    await db?.close();
    await sink?.stop();
    await database?.drop();
    expect(code, server?.output()).toBe(0);
  });

  const register = async (): Promise<Registered> => {
    const username = uniqueUsername("mailwire");
    const answer = await probe.mutate("auth.register", { email: `${username}@example.test`, username, password: PASSWORD, refreshTokenIn: "body" });
    return resultOf<Registered>(answer);
  };

  /** The token of the link in the next email to `to`: on PUBLIC_URL, the same in the text and the HTML. */
  const linkTokenIn = async (to: string, subject: string, path: string): Promise<string> => {
    const { parsed } = await sink.next(to, 10_000);
    expect(parsed.subject).toBe(subject);
    expect(parsed.from?.value).toEqual([{ name: "Parley", address: "parley@example.test" }]);
    const match = new RegExp(`${PUBLIC_URL}${path}\\?token=([A-Za-z0-9_-]{43})`).exec(parsed.text ?? "");
    expect(match, parsed.text).not.toBeNull();
    expect(parsed.html).toContain(`href="${PUBLIC_URL}${path}?token=${match![1]}"`);
    return match![1]!;
  };

  const expectBadLink = (answer: ProbeAnswer): void => {
    expect(answer.status, answer.text).toBe(400);
    expect(answer.json).toMatchObject({ error: { data: { code: "BAD_REQUEST", reason: "EMAIL_TOKEN" } } });
  };

  const jobsOf = (userId: string) =>
    db.db.select().from(jobs).where(and(eq(jobs.kind, "email.verify"), sql`${jobs.payload}->>'userId' = ${userId}`));

  it("verifies the address by the link in the email that arrived after registering, once", async () => {
    const alice = await register();
    expect(alice.user.emailVerified).toBe(false);
    const token = await linkTokenIn(alice.user.email, "Verify your email for Parley", "/verify-email");

    const verified = await probe.mutate("auth.verifyEmail", { token });
    expect(resultOf(verified)).toEqual({ verified: true, purpose: "verify", email: alice.user.email });
    const me = await probe.query("auth.me", undefined, { headers: bearer(alice.accessToken) });
    expect(resultOf<UserProfile>(me).emailVerified).toBe(true);

    expectBadLink(await probe.mutate("auth.verifyEmail", { token }));
    expect(sink.all(alice.user.email)).toHaveLength(1);
    expect(await jobsOf(alice.user.id)).toMatchObject([{ status: "done", attempts: 1, lastError: null }]);
  });

  it("resets a forgotten password by the emailed link: every old session ends, the new password signs in", async () => {
    const bob = await register();
    await sink.next(bob.user.email, 10_000); // the verification email: not what this spec is about
    const { ticket } = resultOf<{ ticket: string }>(await probe.mutate("auth.wsTicket", {}, { headers: bearer(bob.accessToken) }));
    const socket = await openTestSocket(`${server.url.replace("http", "ws")}/ws?ticket=${ticket}`);
    await socket.waitFor((event) => event.type === "ready");

    expect(resultOf(await probe.mutate("auth.requestPasswordReset", { email: bob.user.email }))).toEqual({ requested: true });
    const token = await linkTokenIn(bob.user.email, "Reset your Parley password", "/reset-password");
    const reset = await probe.mutate("auth.resetPassword", { token, newPassword: NEW_PASSWORD });
    expect(resultOf(reset)).toEqual({ passwordReset: true, revoked: 1 });

    expect((await socket.closed).code).toBe(CloseCode.AUTH_REVOKED);
    const refresh = await probe.mutate("auth.refresh", { refreshToken: bob.refreshToken, refreshTokenIn: "body" });
    expect([refresh.status, refresh.errorCode]).toEqual([401, "UNAUTHORIZED"]);
    const me = await probe.query("auth.me", undefined, { headers: bearer(bob.accessToken) });
    expect([me.status, me.errorCode]).toEqual([401, "UNAUTHORIZED"]);

    const oldLogin = await probe.mutate("auth.login", { login: bob.user.username, password: PASSWORD, refreshTokenIn: "body" });
    expect([oldLogin.status, oldLogin.errorCode]).toEqual([401, "UNAUTHORIZED"]);
    const newLogin = await probe.mutate("auth.login", { login: bob.user.username, password: NEW_PASSWORD, refreshTokenIn: "body" });
    expect(resultOf<Registered>(newLogin).user.id).toBe(bob.user.id);
    expectBadLink(await probe.mutate("auth.resetPassword", { token, newPassword: "and yet another staple" }));
  });

  it("keeps retrying the verification email while SMTP is down, and delivers it once SMTP is back", async () => {
    await sink.stop();
    let carol: Registered;
    try {
      carol = await register();
      // Refused connections fail attempts; the job goes back to the queue, each time a little later.
      await until(
        async () => (await jobsOf(carol.user.id)).some((job) => job.status === "queued" && job.attempts >= 2 && job.lastError !== null),
        () => "the verification job failed twice and waits for another attempt",
        15_000,
      );
      const metrics = await probe.request("/metrics", { headers: bearer(METRICS_TOKEN) });
      expect(metrics.text).toMatch(/^parley_job_attempts_failed_total\{kind="email\.verify"\} [1-9]/m);
      const stats = await probe.request("/ops/jobs/stats", { headers: bearer(METRICS_TOKEN) });
      const { queued, running, dead } = stats.json as { queued: number; running: number; dead: number };
      expect({ waitingOrRunning: queued + running, dead }).toEqual({ waitingOrRunning: 1, dead: 0 });
      expect(sink.all(carol.user.email)).toEqual([]);
    } finally {
      await sink.start();
    }

    const token = await linkTokenIn(carol.user.email, "Verify your email for Parley", "/verify-email");
    expect(resultOf(await probe.mutate("auth.verifyEmail", { token }))).toMatchObject({ verified: true, email: carol.user.email });
    await until(async () => (await jobsOf(carol.user.id))[0]?.status === "done", () => "the job is recorded done", 5000);
    const [job] = await jobsOf(carol.user.id);
    expect(job!.attempts).toBeGreaterThanOrEqual(3);
    expect(job!.lastError, "the last failure stays for an operator to read").toMatch(/ECONNREFUSED|connect/i);
    expect(sink.all(carol.user.email)).toHaveLength(1);
    const failures = server.logs.filter((line) => line.msg === "job failed; will retry" && line.kind === "email.verify");
    expect(failures.length).toBe(job!.attempts - 1);
  });
});
