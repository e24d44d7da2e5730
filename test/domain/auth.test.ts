import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IssuedTokens, RequestMeta } from "../../src/domain/auth/auth.schema.ts";
import { DomainError } from "../../src/lib/domain-error.ts";
import { createCaller } from "../../src/transport/trpc/app-router.ts";
import { createInnerContext } from "../../src/transport/trpc/context.ts";
import { databaseKinds } from "../support/databases.ts";
import { uniqueUsername } from "../support/factories.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";

const META: RequestMeta = { ip: "203.0.113.1", userAgent: "vitest" };
const PASSWORD = "a long enough passphrase";

/** "user_1_ab" → "ＵＳＥＲ＿１＿ＡＢ": fullwidth capitals, which NFKC + case folding turn back into the original. */
function fullwidthUpper(ascii: string): string {
  return [...ascii]
    .map((char) => {
      if (/[a-z]/.test(char)) return String.fromCharCode(0xff21 + char.charCodeAt(0) - 97);
      if (/[0-9]/.test(char)) return String.fromCharCode(0xff10 + char.charCodeAt(0) - 48);
      return char === "_" ? "\uff3f" : char;
    })
    .join("");
}

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("expected a rejection"),
    (error: unknown) => error,
  );
}

async function trpcErrorOf(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

function newAccount(prefix = "acct"): { email: string; username: string; password: string } {
  const username = uniqueUsername(prefix);
  return { email: `${username}@example.test`, username, password: PASSWORD };
}

describe.each(databaseKinds)("auth accounts on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });
  const api = (meta: RequestMeta = META): ReturnType<typeof createCaller> =>
    createCaller(createInnerContext({ services: deps.services, meta }));
  const register = (account: { email: string; username: string; password: string }): Promise<IssuedTokens> =>
    deps.services.auth.register({ ...account, refreshTokenIn: "body" }, META);

  describe("register", () => {
    it("creates the account and signs it in; the display name defaults to the username", async () => {
      const account = newAccount();
      const signedIn = await api().auth.register(account);
      expect(signedIn.user).toEqual({
        id: expect.any(String),
        email: account.email,
        username: account.username,
        displayName: account.username,
        emailVerified: false,
        privateReceipts: false,
        bio: "",
        status: null,
        timezone: null,
        dmPolicy: "everyone",
        avatarFileId: null,
        createdAt: expect.any(String),
      });
      await expect(deps.services.auth.verifyAccessToken(signedIn.accessToken)).resolves.toMatchObject({
        userId: signedIn.user.id,
      });
    });

    it("keeps a given display name", async () => {
      const signedIn = await api().auth.register({ ...newAccount(), displayName: "  Ada Lovelace " });
      expect(signedIn.user.displayName).toBe("Ada Lovelace");
    });

    it("lower-cases the email and folds the username with NFKC and case", async () => {
      const account = newAccount("fold");
      const signedIn = await api().auth.register({
        email: `  ${account.email.toUpperCase()} `,
        username: fullwidthUpper(account.username),
        password: PASSWORD,
      });
      expect(signedIn.user).toMatchObject({ email: account.email, username: account.username });
    });

    it("accepts the boundaries: 3- and 32-character usernames, 8- and 256-character passwords", async () => {
      const short = `u${Math.random().toString(36).slice(2, 4)}`;
      const long = uniqueUsername("boundary").padEnd(32, "x");
      await expect(
        api().auth.register({ email: `${short}@example.test`, username: short, password: "12345678" }),
      ).resolves.toMatchObject({ user: { username: short } });
      await expect(
        api().auth.register({ email: `${long}@example.test`, username: long, password: "p".repeat(256) }),
      ).resolves.toMatchObject({ user: { username: long } });
    });

    it("refuses a taken email or username, whatever their case, with CONFLICT", async () => {
      const taken = newAccount();
      await register(taken);
      const other = newAccount();
      for (const duplicate of [
        { ...other, email: taken.email.toUpperCase() },
        { ...other, username: taken.username.toUpperCase() },
      ]) {
        const error = await trpcErrorOf(api().auth.register(duplicate));
        expect(error.code).toBe("CONFLICT");
      }
    });

    it("lets exactly one of two simultaneous registrations of one username win", async () => {
      const username = uniqueUsername("race");
      const results = await Promise.allSettled([
        register({ email: `${username}.a@example.test`, username, password: PASSWORD }),
        register({ email: `${username}.b@example.test`, username, password: PASSWORD }),
      ]);
      expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
      const loser = results.find((result) => result.status === "rejected");
      expect(loser?.reason).toBeInstanceOf(DomainError);
      expect(loser?.reason).toMatchObject({ code: "CONFLICT" });
    });

    const valid = { email: "valid@example.test", username: "valid_name", password: PASSWORD };
    it.each([
      ["an invalid email", { email: "not-an-email" }],
      ["an email without a domain", { email: "someone@" }],
      ["an empty email", { email: "" }],
      ["an email over 254 characters", { email: `${"e".repeat(250)}@example.test` }],
      ["a 2-character username", { username: "ab" }],
      ["a 33-character username", { username: "a".repeat(33) }],
      ["a username with a space", { username: "two words" }],
      ["a username with a slash", { username: "a/b" }],
      ["a username with a non-ASCII letter", { username: "émile" }],
      ["a reserved username", { username: "admin" }],
      ["a reserved username in capitals", { username: "Root" }],
      ["a reserved username in fullwidth capitals", { username: "ＡＤＭＩＮ" }],
      ["a 7-character password", { password: "1234567" }],
      ["a 257-character password", { password: "p".repeat(257) }],
      ["an empty display name", { displayName: "   " }],
      ["a 65-character display name", { displayName: "d".repeat(65) }],
      ["a display name with a bidi override", { displayName: "\u202Eevil" }],
      ["an unknown field", { isAdmin: true }],
      ["an unknown refresh token delivery", { refreshTokenIn: "url" }],
    ])("refuses %s with BAD_REQUEST", async (_name, change) => {
      const error = await trpcErrorOf(api().auth.register({ ...valid, ...change } as never));
      expect(error.code).toBe("BAD_REQUEST");
    });
  });

  describe("login", () => {
    const account = newAccount("login");
    let userId: string;
    beforeAll(async () => {
      userId = (await register(account)).user.id;
    });

    it("accepts the email, in any case", async () => {
      const signedIn = await api().auth.login({ login: account.email.toUpperCase(), password: PASSWORD });
      expect(signedIn.user.id).toBe(userId);
      await deps.services.auth.verifyAccessToken(signedIn.accessToken);
    });

    it("accepts the username, folded like at registration", async () => {
      const signedIn = await api().auth.login({ login: fullwidthUpper(account.username), password: PASSWORD });
      expect(signedIn.user.id).toBe(userId);
    });

    it("starts a new session every time", async () => {
      const tokens = await Promise.all([1, 2].map(() => api().auth.login({ login: account.username, password: PASSWORD })));
      const sessions = await Promise.all(tokens.map((t) => deps.services.auth.verifyAccessToken(t.accessToken)));
      expect(sessions[0]!.sessionId).not.toBe(sessions[1]!.sessionId);
    });

    it("normalises the password with NFKC, at registration and at login", async () => {
      const other = { ...newAccount("nfkc"), password: "ｐａｓｓｗｏｒｄ１２３４" };
      await register(other);
      await expect(
        deps.services.auth.login({ login: other.username, password: "password1234", refreshTokenIn: "body" }, META),
      ).resolves.toMatchObject({ user: { username: other.username } });
    });

    it("gives the same error for an unknown account and a wrong password", async () => {
      const wrongPassword = await trpcErrorOf(api().auth.login({ login: account.username, password: "not the password" }));
      const unknownUser = await trpcErrorOf(api().auth.login({ login: uniqueUsername("ghost"), password: PASSWORD }));
      const unknownEmail = await trpcErrorOf(api().auth.login({ login: "ghost@example.test", password: PASSWORD }));
      for (const error of [wrongPassword, unknownUser, unknownEmail]) {
        expect(error.code).toBe("UNAUTHORIZED");
        expect(error.message).toBe(wrongPassword.message);
      }
    });

    it("spends about as long on an unknown account as on a wrong password (a dummy hash is verified)", async () => {
      const timed = async (login: string): Promise<number> => {
        const started = performance.now();
        await rejection(deps.services.auth.login({ login, password: "not the password", refreshTokenIn: "body" }, META));
        return performance.now() - started;
      };
      // Interleaved, so a busy machine slows both kinds alike; medians, so one stall does not decide.
      const wrong: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 7; i++) {
        wrong.push(await timed(account.username));
        unknown.push(await timed(uniqueUsername("ghost")));
      }
      const median = (times: number[]): number => times.sort((a, b) => a - b)[3]!;
      const wrongPassword = median(wrong);
      const unknownAccount = median(unknown);
      // Without the dummy verification an unknown account answers in about 1 ms against Argon2's ~50 ms.
      expect(unknownAccount).toBeGreaterThan(wrongPassword * 0.4);
    });

    it("refuses unknown fields with BAD_REQUEST", async () => {
      const error = await trpcErrorOf(api().auth.login({ login: account.username, password: PASSWORD, remember: true } as never));
      expect(error.code).toBe("BAD_REQUEST");
    });
  });
});

describe.each(databaseKinds)("auth rate limits on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind, {
      rateLimits: {
        authPerAccount: { capacity: 3, periodSeconds: 60 },
        authPerIp: { capacity: 4, periodSeconds: 60 },
      },
    });
  });
  afterAll(async () => {
    await deps?.close();
  });
  const noIp: RequestMeta = { ip: null, userAgent: "vitest" };
  const login = (name: string, password: string, meta: RequestMeta): Promise<IssuedTokens> =>
    deps.services.auth.login({ login: name, password, refreshTokenIn: "body" }, meta);

  it("limits failed logins per account, whatever the address and however the login is spelled (email or username)", async () => {
    const account = newAccount("limited");
    await deps.services.auth.register({ ...account, refreshTokenIn: "body" }, noIp);
    for (const [i, spelling] of [account.email.toUpperCase(), account.username.toUpperCase(), fullwidthUpper(account.username)].entries()) {
      await expect(login(spelling, "wrong password", { ip: `198.51.100.${i}`, userAgent: null })).rejects.toMatchObject({
        code: "UNAUTHORIZED",
      });
    }

    // Even the right password is refused now, through the router as TOO_MANY_REQUESTS with a retry hint.
    const caller = createCaller(createInnerContext({ services: deps.services, meta: { ip: "198.51.100.99", userAgent: null } }));
    const error = await trpcErrorOf(caller.auth.login({ login: account.username, password: PASSWORD }));
    expect(error.code).toBe("TOO_MANY_REQUESTS");
    expect(error.cause).toBeInstanceOf(DomainError);
    const retryAfterSeconds = (error.cause as DomainError).retryAfterSeconds;
    expect(retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(retryAfterSeconds).toBeLessThanOrEqual(60);

    const other = newAccount("unlimited");
    await deps.services.auth.register({ ...other, refreshTokenIn: "body" }, noIp);
    await expect(login(other.username, PASSWORD, noIp)).resolves.toMatchObject({ user: { username: other.username } });

    deps.clock.advance(retryAfterSeconds! * 1000);
    await expect(login(account.username, PASSWORD, noIp)).resolves.toMatchObject({ user: { username: account.username } });
  });

  it("limits registrations and logins together per address", async () => {
    const meta: RequestMeta = { ip: "192.0.2.44", userAgent: null };
    for (let i = 0; i < 4; i++) {
      await expect(login(uniqueUsername("nobody"), PASSWORD, meta)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    }
    const error = await rejection(deps.services.auth.register({ ...newAccount(), refreshTokenIn: "body" }, meta));
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: "TOO_MANY_REQUESTS", retryAfterSeconds: expect.any(Number) });
    await expect(login(uniqueUsername("nobody"), PASSWORD, meta)).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });
  });

  it("skips the per-address limit when the address is unknown", async () => {
    for (let i = 0; i < 6; i++) {
      await expect(login(uniqueUsername("nobody"), PASSWORD, noIp)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    }
  });
});

describe.each(databaseKinds)("failed-login limits per account and per (account, address) on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind, {
      rateLimits: {
        authPerIp: { capacity: 1000, periodSeconds: 60 },
        authPerAccountIp: { capacity: 3, periodSeconds: 600 },
        authPerAccount: { capacity: 8, periodSeconds: 600 },
      },
    });
  });
  afterAll(async () => {
    await deps?.close();
  });
  const from = (ip: string): RequestMeta => ({ ip, userAgent: "vitest" });
  const login = (name: string, password: string, meta: RequestMeta): Promise<IssuedTokens> =>
    deps.services.auth.login({ login: name, password, refreshTokenIn: "body" }, meta);
  const registered = async (prefix: string): Promise<{ email: string; username: string; password: string }> => {
    const account = newAccount(prefix);
    await deps.services.auth.register({ ...account, refreshTokenIn: "body" }, from("192.0.2.200"));
    return account;
  };
  const codeOf = async (promise: Promise<unknown>): Promise<string> => {
    const error = await promise.then(
      () => "OK",
      (caught: unknown) => caught,
    );
    return error instanceof DomainError ? error.code : String(error);
  };

  it("does not lock the owner out when an attacker keeps failing from another address", async () => {
    const owner = await registered("victim");
    const attacker = from("198.51.100.66");
    const attempts: string[] = [];
    for (let i = 0; i < 20; i++) {
      // Email and username spellings alike: both name the one account.
      attempts.push(await codeOf(login(i % 2 === 0 ? owner.email : owner.username, "a wrong guess", attacker)));
    }
    expect(attempts).toEqual([...Array(3).fill("UNAUTHORIZED"), ...Array(17).fill("TOO_MANY_REQUESTS")]);
    // Locked out from the attacker's address, even with the right password…
    expect(await codeOf(login(owner.username, PASSWORD, attacker))).toBe("TOO_MANY_REQUESTS");
    // …while the owner, from their own address, signs in as usual.
    await expect(login(owner.email, PASSWORD, from("203.0.113.20"))).resolves.toMatchObject({ user: { username: owner.username } });
  });

  it("does not count successful logins against any limit but the address's", async () => {
    const owner = await registered("regular");
    const home = from("203.0.113.21");
    for (let i = 0; i < 12; i++) {
      await expect(login(i % 2 === 0 ? owner.username : owner.email, PASSWORD, home)).resolves.toHaveProperty("accessToken");
    }
    // Two typos still leave the owner a try from home.
    expect(await codeOf(login(owner.username, "typo one", home))).toBe("UNAUTHORIZED");
    expect(await codeOf(login(owner.username, "typo two", home))).toBe("UNAUTHORIZED");
    await expect(login(owner.username, PASSWORD, home)).resolves.toHaveProperty("accessToken");
  });

  it("refuses every address once the account's failures from many addresses reach the per-account limit", async () => {
    const owner = await registered("spread");
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) codes.push(await codeOf(login(owner.email, "distributed guess", from(`198.51.100.${100 + i}`))));
    expect(codes).toEqual(Array(8).fill("UNAUTHORIZED"));
    expect(await codeOf(login(owner.username, PASSWORD, from("203.0.113.22")))).toBe("TOO_MANY_REQUESTS");
    deps.clock.advance(600_000 / 8 + 1000); // one failure's worth of refill
    await expect(login(owner.username, PASSWORD, from("203.0.113.22"))).resolves.toHaveProperty("accessToken");
  });

  it("counts an IPv6 attacker's failures by their /64, however many of its addresses they use", async () => {
    const owner = await registered("sixfour");
    const codes: string[] = [];
    for (const host of ["a", "b", "c", "d", "e"]) codes.push(await codeOf(login(owner.username, "a guess", from(`2001:db8:6:4::${host}`))));
    expect(codes).toEqual(["UNAUTHORIZED", "UNAUTHORIZED", "UNAUTHORIZED", "TOO_MANY_REQUESTS", "TOO_MANY_REQUESTS"]);
    await expect(login(owner.username, PASSWORD, from("2001:db8:6:5::a"))).resolves.toHaveProperty("accessToken");
  });

  it("counts failed logins for an unknown account by the normalised login", async () => {
    const ghost = uniqueUsername("ghost");
    const attacker = from("198.51.100.77");
    const codes: string[] = [];
    for (const spelling of [ghost, ghost.toUpperCase(), fullwidthUpper(ghost), ` ${ghost} `]) {
      codes.push(await codeOf(login(spelling, "a guess", attacker)));
    }
    expect(codes).toEqual(["UNAUTHORIZED", "UNAUTHORIZED", "UNAUTHORIZED", "TOO_MANY_REQUESTS"]);
    // Another unknown login from the same address is a bucket of its own.
    expect(await codeOf(login(uniqueUsername("ghost"), "a guess", attacker))).toBe("UNAUTHORIZED");
  });

  it("refuses a burst of parallel guesses beyond the per-(account, address) limit", async () => {
    const owner = await registered("burst");
    const codes = await Promise.all(
      Array.from({ length: 12 }, () => codeOf(login(owner.username, "parallel guess", from("198.51.100.88")))),
    );
    expect(codes.filter((code) => code === "UNAUTHORIZED")).toHaveLength(3);
    expect(codes.filter((code) => code === "TOO_MANY_REQUESTS")).toHaveLength(9);
    await expect(login(owner.username, PASSWORD, from("203.0.113.23"))).resolves.toHaveProperty("accessToken");
  });
});
