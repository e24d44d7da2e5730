import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthSession, IssuedTokens, RequestMeta } from "../../src/domain/auth/auth.schema.ts";
import { createCaller } from "../../src/transport/trpc/app-router.ts";
import { createInnerContext } from "../../src/transport/trpc/context.ts";
import { databaseKinds } from "../support/databases.ts";
import { uniqueUsername } from "../support/factories.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { inputIssues, trpcError } from "./trpc-calls.ts";

const PASSWORD = "a long enough passphrase";
const NEW_PASSWORD = "another long passphrase";
const CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0";
const SAFARI_IOS =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

/** One signed-in device: its tokens, its session, and the API as it calls it. */
interface Device {
  tokens: IssuedTokens;
  session: AuthSession;
  meta: RequestMeta;
  api: ReturnType<typeof createCaller>;
}

describe.each(databaseKinds)("my sessions and password on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const deviceOf = async (tokens: IssuedTokens, meta: RequestMeta): Promise<Device> => {
    const session = await deps.services.auth.verifyAccessToken(tokens.accessToken);
    return { tokens, session, meta, api: createCaller(createInnerContext({ services: deps.services, session, meta })) };
  };

  /** A new account signed in on the laptop (Chrome on Linux), then on a Mac and a phone, a minute apart. */
  const accountOnThreeDevices = async (): Promise<{ username: string; laptop: Device; mac: Device; phone: Device }> => {
    const username = uniqueUsername("devices");
    const laptopMeta = { ip: "203.0.113.1", userAgent: CHROME_LINUX };
    const laptop = await deviceOf(
      await deps.services.auth.register({ email: `${username}@example.test`, username, password: PASSWORD, refreshTokenIn: "body" }, laptopMeta),
      laptopMeta,
    );
    const login = async (meta: RequestMeta): Promise<Device> => {
      deps.clock.advance(60_000);
      return deviceOf(await deps.services.auth.login({ login: username, password: PASSWORD, refreshTokenIn: "body" }, meta), meta);
    };
    const mac = await login({ ip: "198.51.100.2", userAgent: FIREFOX_MAC });
    const phone = await login({ ip: "2001:db8::3", userAgent: SAFARI_IOS });
    return { username, laptop, mac, phone };
  };

  const expectSignedOut = async (device: Device): Promise<void> => {
    await expect(deps.services.auth.verifyAccessToken(device.tokens.accessToken)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(deps.services.auth.refresh(device.tokens.refreshToken, device.meta)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  };
  const expectSignedIn = async (device: Device): Promise<void> => {
    await expect(deps.services.auth.verifyAccessToken(device.tokens.accessToken)).resolves.toEqual(device.session);
  };

  describe("auth.sessions", () => {
    it("lists my live sessions, most recently active first, with device, address, times and which one is mine", async () => {
      const { laptop, mac, phone } = await accountOnThreeDevices();
      // The laptop refreshes last, so it is the most recently active.
      deps.clock.advance(60_000);
      const laptopAgain = await deps.services.auth.refresh(laptop.tokens.refreshToken, laptop.meta);

      const listed = await mac.api.auth.sessions();

      expect(listed).toEqual([
        {
          id: laptop.session.sessionId,
          device: "Chrome on Linux",
          ip: "203.0.113.1",
          createdAt: expect.any(String),
          lastActiveAt: deps.clock.now().toISOString(),
          current: false,
        },
        { id: phone.session.sessionId, device: "Safari on iOS", ip: "2001:db8::3", createdAt: expect.any(String), lastActiveAt: expect.any(String), current: false },
        { id: mac.session.sessionId, device: "Firefox on macOS", ip: "198.51.100.2", createdAt: expect.any(String), lastActiveAt: expect.any(String), current: true },
      ]);
      expect(new Date(listed[0]!.createdAt).getTime()).toBeLessThan(new Date(listed[0]!.lastActiveAt).getTime());
      expect(laptopAgain.user.id).toBe(laptop.tokens.user.id);
    });

    it("leaves out revoked and expired sessions, and other people's", async () => {
      const { laptop, mac, phone } = await accountOnThreeDevices();
      const stranger = await accountOnThreeDevices();
      await deps.services.auth.logout({ session: phone.session });

      const ids = (await laptop.api.auth.sessions()).map((session) => session.id);
      expect(ids.sort()).toEqual([laptop.session.sessionId, mac.session.sessionId].sort());

      // Past the absolute session lifetime (30 days in tests) nothing is live.
      deps.clock.advance(31 * 86_400_000);
      expect(await stranger.laptop.api.auth.sessions()).toEqual([]);
    });
  });

  describe("auth.revokeSession", () => {
    it("ends exactly that session: its tokens die, its sockets are told, the others stay", async () => {
      const { laptop, mac, phone } = await accountOnThreeDevices();
      const events = await deps.recordEvents({ userId: laptop.tokens.user.id });

      await expect(laptop.api.auth.revokeSession({ sessionId: phone.session.sessionId })).resolves.toEqual({ revoked: true });

      await expectSignedOut(phone);
      await expectSignedIn(laptop);
      await expectSignedIn(mac);
      await settle();
      expect(events).toEqual([{ type: "session.revoked", sessionId: phone.session.sessionId }]);
      expect((await mac.api.auth.sessions()).map((session) => session.id)).not.toContain(phone.session.sessionId);
    });

    it("may end the current session (a logout)", async () => {
      const { laptop, mac } = await accountOnThreeDevices();
      await laptop.api.auth.revokeSession({ sessionId: laptop.session.sessionId });
      await expectSignedOut(laptop);
      await expectSignedIn(mac);
    });

    it("answers NOT_FOUND, the same way, for someone else's session, an unknown one and one already ended", async () => {
      const mine = await accountOnThreeDevices();
      const theirs = await accountOnThreeDevices();
      await mine.laptop.api.auth.revokeSession({ sessionId: mine.phone.session.sessionId });

      const answers = [];
      for (const sessionId of [theirs.phone.session.sessionId, crypto.randomUUID(), mine.phone.session.sessionId]) {
        const error = await trpcError(mine.laptop.api.auth.revokeSession({ sessionId }));
        answers.push({ code: error.code, message: error.message });
      }
      expect(answers).toEqual(Array.from({ length: 3 }, () => ({ code: "NOT_FOUND", message: "no such session" })));
      await expectSignedIn(theirs.phone);
    });

    it("refuses bad input with BAD_REQUEST", async () => {
      const { laptop } = await accountOnThreeDevices();
      const bad: unknown[] = [{}, { sessionId: "" }, { sessionId: "not-a-uuid" }, { sessionId: 7 }, { sessionId: `${crypto.randomUUID()}x` }, { sessionId: crypto.randomUUID(), extra: 1 }];
      for (const input of bad) {
        await inputIssues(laptop.api.auth.revokeSession(input as { sessionId: string }));
      }
      await expectSignedIn(laptop);
    });
  });

  describe("auth.revokeOtherSessions", () => {
    it("ends every session but mine, says how many, and tells each one's sockets", async () => {
      const { laptop, mac, phone } = await accountOnThreeDevices();
      const stranger = await accountOnThreeDevices();
      const events = await deps.recordEvents({ userId: laptop.tokens.user.id });

      await expect(mac.api.auth.revokeOtherSessions()).resolves.toEqual({ revoked: 2 });

      await expectSignedOut(laptop);
      await expectSignedOut(phone);
      await expectSignedIn(mac);
      await expectSignedIn(stranger.laptop);
      await settle();
      expect(events).toEqual(
        expect.arrayContaining([
          { type: "session.revoked", sessionId: laptop.session.sessionId },
          { type: "session.revoked", sessionId: phone.session.sessionId },
        ]),
      );
      expect(events).toHaveLength(2);
      await expect(mac.api.auth.revokeOtherSessions()).resolves.toEqual({ revoked: 0 });
    });
  });

  describe("auth.changePassword", () => {
    it("changes the password, ends every other session and keeps mine", async () => {
      const { username, laptop, mac, phone } = await accountOnThreeDevices();
      const events = await deps.recordEvents({ userId: laptop.tokens.user.id });

      await expect(laptop.api.auth.changePassword({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).resolves.toEqual({
        passwordChanged: true,
        revoked: 2,
      });

      await expectSignedIn(laptop);
      await expect(deps.services.auth.refresh(laptop.tokens.refreshToken, laptop.meta)).resolves.toMatchObject({ user: { username } });
      await expectSignedOut(mac);
      await expectSignedOut(phone);
      await expect(deps.services.auth.login({ login: username, password: PASSWORD, refreshTokenIn: "body" }, laptop.meta)).rejects.toMatchObject({
        code: "UNAUTHORIZED",
      });
      await expect(deps.services.auth.login({ login: username, password: NEW_PASSWORD, refreshTokenIn: "body" }, laptop.meta)).resolves.toMatchObject({
        user: { username },
      });
      await settle();
      expect(events.map((event) => event.type)).toEqual(["session.revoked", "session.revoked"]);
    });

    it("refuses a wrong current password with UNAUTHORIZED and changes nothing", async () => {
      const { username, laptop, mac } = await accountOnThreeDevices();
      const error = await trpcError(laptop.api.auth.changePassword({ currentPassword: "not the password", newPassword: NEW_PASSWORD }));
      expect(error).toMatchObject({ code: "UNAUTHORIZED", message: "wrong password" });
      await expectSignedIn(mac);
      await expect(deps.services.auth.login({ login: username, password: PASSWORD, refreshTokenIn: "body" }, laptop.meta)).resolves.toBeDefined();
    });

    it("refuses a weak or malformed new password, and bad input, with BAD_REQUEST", async () => {
      const { username, laptop, mac } = await accountOnThreeDevices();
      expect(await inputIssues(laptop.api.auth.changePassword({ currentPassword: PASSWORD, newPassword: "short" }))).toContain(
        "password must be at least 8 characters",
      );
      const bad: unknown[] = [
        { currentPassword: PASSWORD, newPassword: "x".repeat(257) },
        { currentPassword: PASSWORD, newPassword: "eight\u0000chars" },
        { currentPassword: PASSWORD },
        { newPassword: NEW_PASSWORD },
        { currentPassword: "", newPassword: NEW_PASSWORD },
        { currentPassword: "x".repeat(1025), newPassword: NEW_PASSWORD },
        { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, extra: true },
      ];
      for (const input of bad) {
        await inputIssues(laptop.api.auth.changePassword(input as { currentPassword: string; newPassword: string }));
      }
      await expectSignedIn(mac);
      await expect(deps.services.auth.login({ login: username, password: PASSWORD, refreshTokenIn: "body" }, laptop.meta)).resolves.toBeDefined();
    });
  });
});

describe.each(databaseKinds)("changing the password under the failed-login limits on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind, { rateLimits: { authPerAccountIp: { capacity: 3, periodSeconds: 600 } } });
  });
  afterAll(async () => {
    await deps?.close();
  });

  it("counts wrong current passwords like failed logins, and a right one costs nothing", async () => {
    const username = uniqueUsername("pwlimit");
    const meta = { ip: "203.0.113.9", userAgent: CHROME_LINUX };
    const tokens = await deps.services.auth.register({ email: `${username}@example.test`, username, password: PASSWORD, refreshTokenIn: "body" }, meta);
    const session = await deps.services.auth.verifyAccessToken(tokens.accessToken);
    const api = createCaller(createInnerContext({ services: deps.services, session, meta }));

    await api.auth.changePassword({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    const codes = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      codes.push((await trpcError(api.auth.changePassword({ currentPassword: "a wrong guess", newPassword: PASSWORD }))).code);
    }
    expect(codes).toEqual(["UNAUTHORIZED", "UNAUTHORIZED", "UNAUTHORIZED", "TOO_MANY_REQUESTS"]);
    // The same account's login from that address is now limited too: one allowance, however it is spent.
    await expect(deps.services.auth.login({ login: username, password: NEW_PASSWORD, refreshTokenIn: "body" }, meta)).rejects.toMatchObject({
      code: "TOO_MANY_REQUESTS",
    });
  });
});
