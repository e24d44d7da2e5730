import { decodeJwt, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueUsername } from "../support/factories.ts";
import { bearer, createHttpProbe, type HttpProbe, type ProbeAnswer, resultOf, type SignedUp, signUp } from "../support/http-probe.ts";
import { type ServerProcess, startServer, TEST_ORIGIN } from "../support/server-process.ts";

/** Known to the test, so it can forge tokens that differ from a real one in exactly one respect. */
const JWT_SECRET = "http-auth-bad-input-secret-0123456789-abcdef";
const EVIL = "https://evil.example";
/** Origins that only look like the allowed one: exact match or nothing. */
const LOOKALIKES = [EVIL, "null", `${TEST_ORIGIN}.evil.example`, `${TEST_ORIGIN}:8443`, TEST_ORIGIN.replace("http:", "https:")];

/**
 * Credentials and cross-origin abuse against a real Bun server, over plain HTTP: forged and malformed bearer
 * tokens, replayed refresh tokens, the refresh cookie used cross-site, form-style CSRF, CORS and WebSocket
 * upgrades with foreign origins or bad tickets. Every refusal is a typed 4xx; nothing is a 5xx; the server stays up.
 */
describe("credentials and origins over HTTP (Bun)", () => {
  let server: ServerProcess;
  let probe: HttpProbe;
  let alice: SignedUp;

  beforeAll(async () => {
    server = await startServer("bun", { JWT_SECRET });
    probe = createHttpProbe(server.url);
    alice = await signUp(probe, uniqueUsername("alice"));
  });

  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  function expectRefused(answer: ProbeAnswer, status: number, code: string, context: string): void {
    expect({ context, status: answer.status, code: answer.errorCode }, answer.text.slice(0, 300)).toEqual({ context, status, code });
  }
  const me = (headers: Record<string, string>): Promise<ProbeAnswer> => probe.query("auth.me", undefined, { headers });
  const refreshInBody = (refreshToken: string): Promise<ProbeAnswer> =>
    probe.mutate("auth.refresh", { refreshToken, refreshTokenIn: "body" });

  /** An access token signed like the server's, with `change` applied: only what `change` alters is wrong. */
  async function forge(change: { alg?: string; typ?: string; secret?: string; claims?: Record<string, unknown>; expiresAt?: number }): Promise<string> {
    const real = decodeJwt(alice.accessToken);
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sub: real.sub, sid: real.sid, iss: "parley", aud: "parley-api", iat: now, exp: change.expiresAt ?? now + 600, ...change.claims })
      .setProtectedHeader({ alg: change.alg ?? "HS256", typ: change.typ ?? "at+jwt" })
      .sign(new TextEncoder().encode(change.secret ?? JWT_SECRET));
  }
  const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

  it("accepts a token forged with the server's own key and claims (the control for the forgeries below)", async () => {
    const answer = await me(bearer(await forge({})));
    expect(answer.status, answer.text).toBe(200);
    expect(resultOf<{ id: string }>(answer).id).toBe(alice.user.id);
  });

  it("refuses missing, malformed, forged, expired and misdirected bearer tokens with 401 UNAUTHORIZED", async () => {
    const now = Math.floor(Date.now() / 1000);
    const real = decodeJwt(alice.accessToken);
    const unsigned = `${base64url({ alg: "none", typ: "at+jwt" })}.${base64url({ ...real, exp: now + 600 })}.`;
    const { ticket } = resultOf<{ ticket: string }>(await probe.mutate("auth.wsTicket", {}, { headers: bearer(alice.accessToken) }));
    const headers: [string, Record<string, string>][] = [
      ["no header", {}],
      ["empty bearer", { authorization: "Bearer " }],
      ["garbage", bearer("garbage")],
      ["lower-case scheme", { authorization: `bearer ${alice.accessToken}` }],
      ["basic auth", { authorization: "Basic YWxpY2U6c2VjcmV0" }],
      ["5000 characters", bearer("a".repeat(5000))],
      ["two tokens", { authorization: `Bearer ${alice.accessToken} ${alice.accessToken}` }],
      ["truncated signature", bearer(alice.accessToken.slice(0, -4))],
      ["alg none", bearer(unsigned)],
      ["signed with another key", bearer(await forge({ secret: "not-the-server-secret-not-the-server-secret" }))],
      ["HS512 with the right key", bearer(await forge({ alg: "HS512" }))],
      ["expired", bearer(await forge({ expiresAt: now - 120 }))],
      ["expired with an iat from the future", bearer(await forge({ claims: { iat: now + 3600 }, expiresAt: now - 1 }))],
      ["issued a minute in the future", bearer(await forge({ claims: { iat: now + 60 } }))],
      ["issued longer ago than the access-token lifetime, with a far exp", bearer(await forge({ claims: { iat: now - 3600 }, expiresAt: now + 86_400 }))],
      ["wrong audience", bearer(await forge({ claims: { aud: "another-api" } }))],
      ["wrong issuer", bearer(await forge({ claims: { iss: "someone-else" } }))],
      ["typ JWT, not at+jwt", bearer(await forge({ typ: "JWT" }))],
      ["no session claim", bearer(await forge({ claims: { sid: undefined } }))],
      ["a session that never existed", bearer(await forge({ claims: { sid: crypto.randomUUID() } }))],
      ["the refresh token", bearer(alice.refreshToken)],
      ["a WebSocket ticket", bearer(ticket)],
    ];
    for (const [context, header] of headers) expectRefused(await me(header), 401, "UNAUTHORIZED", context);
  });

  it("refuses a replayed refresh token; replaying an older one revokes the whole family, access tokens included", async () => {
    const bob = await signUp(probe, uniqueUsername("bob"));
    const second = resultOf<SignedUp>(await refreshInBody(bob.refreshToken));
    // The token just consumed is refused but, within seconds of its use, taken for a second tab racing the first.
    expectRefused(await refreshInBody(bob.refreshToken), 409, "CONFLICT", "immediate replay");
    const third = resultOf<SignedUp>(await refreshInBody(second.refreshToken));
    // Two generations old is no race: it is a stolen token, and the family dies.
    expectRefused(await refreshInBody(bob.refreshToken), 401, "UNAUTHORIZED", "replay of an older token");
    expectRefused(await refreshInBody(third.refreshToken), 401, "UNAUTHORIZED", "the live token of the revoked family");
    expectRefused(await me(bearer(third.accessToken)), 401, "UNAUTHORIZED", "an access token of the revoked family");
    expect((await me(bearer(alice.accessToken))).status).toBe(200); // other sessions are untouched
  });

  it("revokes the family when the previous refresh token comes back after the racing-tabs grace", async () => {
    const carol = await signUp(probe, uniqueUsername("carol"));
    const rotated = resultOf<SignedUp>(await refreshInBody(carol.refreshToken));
    await new Promise((resolve) => setTimeout(resolve, 5_300)); // RACING_REFRESH_GRACE_MS is 5 s
    expectRefused(await refreshInBody(carol.refreshToken), 401, "UNAUTHORIZED", "replay after the grace");
    expectRefused(await refreshInBody(rotated.refreshToken), 401, "UNAUTHORIZED", "its successor");
  });

  it("refuses malformed and unknown refresh tokens with typed errors", async () => {
    expectRefused(await refreshInBody("short"), 400, "BAD_REQUEST", "malformed");
    expectRefused(await refreshInBody(`${"a".repeat(42)}!`), 400, "BAD_REQUEST", "bad alphabet");
    expectRefused(await refreshInBody("a".repeat(43)), 401, "UNAUTHORIZED", "well-formed, unknown");
  });

  it("uses the refresh cookie only from an allowed Origin, and rotates it with HttpOnly, SameSite=Strict, Path=/", async () => {
    const username = uniqueUsername("cookie");
    const registered = await probe.mutate(
      "auth.register",
      { email: `${username}@example.test`, username, password: "correct horse battery staple" },
      { headers: { origin: TEST_ORIGIN } },
    );
    expect(registered.status, registered.text).toBe(200);
    expect(resultOf<Record<string, unknown>>(registered)).not.toHaveProperty("refreshToken");
    const cookie = refreshCookie(registered);

    const withCookie = (origin?: string): Promise<ProbeAnswer> =>
      probe.mutate("auth.refresh", {}, { headers: { cookie: `${cookie.name}=${cookie.value}`, ...(origin ? { origin } : {}) } });
    expectRefused(await withCookie(), 403, "FORBIDDEN", "no Origin");
    for (const origin of LOOKALIKES) expectRefused(await withCookie(origin), 403, "FORBIDDEN", `Origin ${origin}`);

    const refreshed = await withCookie(TEST_ORIGIN);
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(refreshed.headers.get("access-control-allow-origin")).toBe(TEST_ORIGIN);
    expect(refreshed.headers.get("access-control-allow-credentials")).toBe("true");
    const rotated = refreshCookie(refreshed);
    expect(rotated.name).toBe(cookie.name);
    expect(rotated.value).not.toBe(cookie.value);
    // Right after its rotation the consumed cookie reads as a racing tab: refused with CONFLICT (retry), family kept.
    expectRefused(await withCookie(TEST_ORIGIN), 409, "CONFLICT", "the consumed cookie");
  });

  /** Every cross-site form a browser can send without a preflight, to cookie-using and state-changing procedures. */
  const formPosts = (): { context: string; init: RequestInit; path: string }[] => {
    const bodies: [string, string | null][] = [
      ["text/plain", "text/plain"],
      ["urlencoded", "application/x-www-form-urlencoded"],
      ["multipart", "multipart/form-data; boundary=parley"],
      ["no content-type", null],
    ];
    const origins: [string, Record<string, string>][] = [
      ["foreign Origin", { origin: EVIL }],
      ["Origin null", { origin: "null" }],
      ["no Origin", {}],
    ];
    return ["auth.refresh", "auth.logout", "auth.login", "messages.send"].flatMap((procedure) =>
      bodies.flatMap(([kind, contentType]) =>
        origins.map(([from, originHeader]) => ({
          context: `${procedure}, ${kind}, ${from}`,
          path: `/trpc/${procedure}`,
          init: {
            method: "POST",
            headers: { ...originHeader, ...(contentType ? { "content-type": contentType } : {}), cookie: "parley_rt=x" },
            // Bytes, not a string: fetch would add `text/plain` to a string body, and "no content-type" means none.
            body: new TextEncoder().encode('{"login":"x","password":"y"}'),
          },
        })),
      ),
    );
  };

  it("refuses cross-site form-style POSTs (text/plain, urlencoded, multipart, no content-type) with 403", async () => {
    for (const post of formPosts()) {
      const answer = await probe.request(post.path, post.init);
      expect({ context: post.context, status: answer.status }).toEqual({ context: post.context, status: 403 });
    }
  });

  it("says why in a JSON error with code FORBIDDEN when it refuses a cross-site form POST", async () => {
    for (const post of formPosts().slice(0, 4)) {
      const answer = await probe.request(post.path, post.init);
      expect({ context: post.context, body: answer.json }).toEqual({ context: post.context, body: { error: expect.objectContaining({ code: "FORBIDDEN" }) } });
    }
  });

  it("grants CORS, with credentials, to the allowed origin only", async () => {
    const preflight = (origin: string): Promise<ProbeAnswer> =>
      probe.request("/trpc/auth.refresh", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" },
      });
    for (const origin of LOOKALIKES) {
      expect((await preflight(origin)).headers.get("access-control-allow-origin"), origin).toBeNull();
      const request = await probe.mutate("auth.login", { login: "nobody", password: "wrong password" }, { headers: { origin } });
      expect(request.headers.get("access-control-allow-origin"), origin).toBeNull();
    }
    const allowed = await preflight(TEST_ORIGIN);
    expect(allowed.status).toBeLessThan(300);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(TEST_ORIGIN);
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    expect(allowed.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    expect(allowed.headers.get("vary")).toMatch(/origin/i);
  });

  it("refuses WebSocket upgrades from foreign origins (403) and with missing, forged or used tickets (401)", async () => {
    const ticketFor = async (who: SignedUp): Promise<string> =>
      resultOf<{ ticket: string }>(await probe.mutate("auth.wsTicket", {}, { headers: bearer(who.accessToken) })).ticket;
    const ticket = await ticketFor(alice);
    for (const origin of LOOKALIKES) expectRefused(await probe.upgrade(`/ws?ticket=${ticket}`, { origin }), 403, "FORBIDDEN", origin);
    // Refusing the origin did not spend the ticket: it opens once from the allowed origin, and never again.
    expect((await probe.upgrade(`/ws?ticket=${ticket}`, { origin: TEST_ORIGIN })).status).toBe(101);
    expectRefused(await probe.upgrade(`/ws?ticket=${ticket}`, { origin: TEST_ORIGIN }), 401, "UNAUTHORIZED", "replayed ticket");
    for (const [context, query] of [
      ["no ticket", ""],
      ["empty", "?ticket="],
      ["garbage", "?ticket=%00%ff%27"],
      ["well-formed, unknown", `?ticket=${"t".repeat(43)}`],
      ["the access token", `?ticket=${alice.accessToken}`],
      ["the refresh token", `?ticket=${alice.refreshToken}`],
    ] as const) {
      expectRefused(await probe.upgrade(`/ws${query}`), 401, "UNAUTHORIZED", context);
    }
    expectRefused(await probe.request(`/ws?ticket=${await ticketFor(alice)}`), 426, "UPGRADE_REQUIRED", "a plain GET");
  });

  it("answered nothing but typed 4xx refusals in this file, marked nosniff, and is still up", async () => {
    const live = await probe.request("/livez");
    expect(live.status).toBe(200);
    expect(server.exited).toBe(false);
    const errors = probe.answers.filter((answer) => answer.status >= 400);
    expect(probe.answers.filter((answer) => answer.status >= 500)).toEqual([]);
    expect(errors.length).toBeGreaterThan(80);
    // The untyped CSRF refusals are the failing spec above; every other refusal carries its code.
    const untyped = errors.filter((answer) => answer.errorCode === null && !(answer.status === 403 && answer.method === "POST"));
    expect(untyped).toEqual([]);
    const error = await me({});
    expect(error.headers.get("x-content-type-options")).toBe("nosniff");
    expect(error.headers.get("content-type")).toMatch(/^application\/json/);
  });
});

/** The refresh cookie a response sets, with its attributes checked: HttpOnly, SameSite=Strict, Path=/, no Domain. */
function refreshCookie(answer: ProbeAnswer): { name: string; value: string } {
  const setCookie = answer.headers.getSetCookie().find((line) => /^(__Host-)?parley_rt=/.test(line));
  expect(setCookie, JSON.stringify(answer.headers.getSetCookie())).toBeDefined();
  const [pair = "", ...attributes] = (setCookie ?? "").split(";").map((part) => part.trim());
  const lower = attributes.map((attribute) => attribute.toLowerCase());
  expect(lower).toContain("httponly");
  expect(lower).toContain("samesite=strict");
  expect(lower).toContain("path=/");
  expect(lower.some((attribute) => attribute.startsWith("domain="))).toBe(false);
  const [name = "", value = ""] = pair.split("=");
  expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return { name, value };
}
