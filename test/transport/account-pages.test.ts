import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobs, users } from "../../src/infra/db/schema.ts";
import { uniqueUsername } from "../support/factories.ts";
import { createInProcessApp, type InProcessApp } from "../support/in-process-app.ts";

const PASSWORD = "a long enough passphrase";
const form = (fields: Record<string, string>): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
});

/**
 * The pages the emails link to (a finished one links back to the web app at /): opening one changes nothing, its button does; refusals
 * are pages that say why (never a 500 or a stack); no script may run on them and the token goes to no third party.
 */
describe("the account pages behind the emails' links", () => {
  let server: InProcessApp;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "parley-pages-"));
    server = await createInProcessApp({ DATA_DIR: dataDir, RATE_LIMIT_AUTH_PER_IP: "1000/1" });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function registered(): Promise<{ id: string; email: string }> {
    const username = uniqueUsername("page");
    const email = `${username}@example.test`;
    const { user } = await server.deps.services.auth.register({ email, username, password: PASSWORD, refreshTokenIn: "body" }, { ip: null, userAgent: null });
    return { id: user.id, email };
  }
  /** The token the user's email of this kind carries (the job's payload: what the mail handler puts in the link). */
  async function tokenOf(kind: "email.verify" | "email.passwordReset", userId: string): Promise<string> {
    const [job] = await server.deps.database.db
      .select({ payload: jobs.payload })
      .from(jobs)
      .where(and(eq(jobs.kind, kind), sql`${jobs.payload}->>'userId' = ${userId}`))
      .orderBy(sql`${jobs.createdAt} desc`)
      .limit(1);
    return (job?.payload as { token: string }).token;
  }
  const verifiedAt = async (userId: string): Promise<Date | null> =>
    (await server.deps.database.db.select({ at: users.emailVerifiedAt }).from(users).where(eq(users.id, userId)))[0]?.at ?? null;

  it("verifies on the button press, not on opening the link; a second press says the link is spent", async () => {
    const user = await registered();
    const token = await tokenOf("email.verify", user.id);

    const opened = await server.call(`/verify-email?token=${token}`);
    expect(opened.status).toBe(200);
    expect(opened.headers.get("content-type")).toMatch(/^text\/html/);
    expect(opened.text).toContain(`<input type="hidden" name="token" value="${token}">`);
    expect(await verifiedAt(user.id)).toBeNull(); // a link scanner opening it verifies nothing

    const pressed = await server.call("/verify-email", form({ token }));
    expect(pressed.status).toBe(200);
    expect(pressed.text).toContain(`${user.email} is verified`);
    expect(pressed.text).toContain(`<a href="/">Open Parley</a>`); // this server serves the web app: back to it
    expect(await verifiedAt(user.id)).not.toBeNull();

    const again = await server.call("/verify-email", form({ token }));
    expect(again.status).toBe(400);
    expect(again.text).toContain("This link has expired or was already used");
  });

  it("sets a new password from the reset link; mismatched, short or spent ones are refused on the page", async () => {
    const user = await registered();
    await server.deps.services.auth.requestPasswordReset({ email: user.email }, { ip: null, userAgent: null });
    const token = await tokenOf("email.passwordReset", user.id);

    const mismatch = await server.call("/reset-password", form({ token, newPassword: "one new passphrase", again: "another passphrase" }));
    expect([mismatch.status, mismatch.text.includes("The two passwords differ")]).toEqual([400, true]);
    const short = await server.call("/reset-password", form({ token, newPassword: "short", again: "short" }));
    expect(short.status).toBe(400);
    expect(short.text).toMatch(/password must be at least/i);

    const changed = await server.call("/reset-password", form({ token, newPassword: "the brand new passphrase", again: "the brand new passphrase" }));
    expect([changed.status, changed.text.includes("Your password is changed")]).toEqual([200, true]);
    expect(changed.text).toContain(`<a href="/">Open Parley</a>`);
    const login = await server.deps.services.auth.login({ login: user.email, password: "the brand new passphrase", refreshTokenIn: "body" }, { ip: null, userAgent: null });
    expect(login.user.id).toBe(user.id);

    const spent = await server.call("/reset-password", form({ token, newPassword: "yet another passphrase", again: "yet another passphrase" }));
    expect([spent.status, spent.text.includes("This link has expired or was already used")]).toEqual([400, true]);
  });

  it("lets no script run and sends the token to no one: CSP without script, no-referrer, no-store", async () => {
    for (const path of ["/verify-email?token=x", "/reset-password?token=x"]) {
      const { headers } = await server.call(path);
      expect(headers.get("content-security-policy")).toMatch(/default-src 'none'/);
      expect(headers.get("content-security-policy")).not.toMatch(/script-src/);
      expect(headers.get("referrer-policy")).toBe("no-referrer");
      expect(headers.get("cache-control")).toBe("no-store");
    }
  });

  it("answers hostile input with a page that says so: markup in the token is text, junk forms and oversize bodies are refused", async () => {
    const hostile = `"><script>alert(1)</script>`;
    const opened = await server.call(`/verify-email?token=${encodeURIComponent(hostile)}`);
    expect(opened.text).not.toContain("<script>");
    expect(opened.text).toContain("&quot;&gt;&lt;script&gt;");

    for (const body of [form({ token: hostile }), form({}), { method: "POST", headers: { "content-type": "multipart/form-data; boundary=x" }, body: "--x\r\nbroken" }]) {
      const answer = await server.call("/verify-email", body);
      expect(answer.status).toBe(400);
      expect(answer.text).toContain("This link is not a Parley link");
    }
    const oversize = await server.call("/reset-password", form({ token: "x".repeat(20_000), newPassword: "p", again: "p" }));
    expect(oversize.status).toBe(413);
    expect(server.logs.filter((line) => line.level === "error")).toEqual([]);
  });
});
