import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthSession } from "../../src/domain/auth/auth.schema.ts";
import { createCaller } from "../../src/transport/trpc/app-router.ts";
import { createInnerContext, type TrpcContext } from "../../src/transport/trpc/context.ts";
import { databaseKinds } from "../support/databases.ts";
import { uniqueUsername } from "../support/factories.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";

const PASSWORD = "a long enough passphrase";

/** The rejection of `promise`, which must reject with a TRPCError. */
async function trpcErrorOf(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => expect.unreachable("expected a rejection"),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

/** One browser (or client): its cookie jar persists across calls; the origin and bearer session are per call. */
interface Browser {
  cookie: { value: string | null };
  call(options?: { origin?: "allowed" | "foreign"; session?: AuthSession | null }): ReturnType<typeof createCaller>;
}

describe.each(databaseKinds)("auth router on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const browser = (): Browser => {
    const cookie = { value: null as string | null };
    return {
      cookie,
      call: ({ origin = "allowed", session = null } = {}) => {
        const ctx: TrpcContext = createInnerContext({ services: deps.services, session, cookie });
        return createCaller(origin === "allowed" ? ctx : { ...ctx, hasAllowedOrigin: () => false });
      },
    };
  };
  const account = (): { email: string; username: string; password: string } => {
    const username = uniqueUsername("router");
    return { email: `${username}@example.test`, username, password: PASSWORD };
  };
  const sessionOf = (accessToken: string): Promise<AuthSession> => deps.services.auth.verifyAccessToken(accessToken);

  describe("refresh token delivery", () => {
    it("puts the refresh token in the HttpOnly cookie by default, never in the body", async () => {
      const client = browser();
      const signedIn = await client.call().auth.register(account());
      expect(signedIn).not.toHaveProperty("refreshToken");
      expect(signedIn.refreshTokenExpiresAt).toEqual(expect.any(String));
      expect(client.cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it("returns it in the body, and sets no cookie, when asked to", async () => {
      const client = browser();
      const credentials = account();
      await client.call().auth.register({ ...credentials, refreshTokenIn: "body" });
      client.cookie.value = null;
      const signedIn = await client.call().auth.login({ login: credentials.email, password: PASSWORD, refreshTokenIn: "body" });
      expect(signedIn.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(client.cookie.value).toBeNull();
    });
  });

  describe("refresh", () => {
    it("rotates the cookie when called from an allowed origin", async () => {
      const client = browser();
      await client.call().auth.register(account());
      const before = client.cookie.value;
      const refreshed = await client.call().auth.refresh();
      expect(refreshed).not.toHaveProperty("refreshToken");
      expect(client.cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(client.cookie.value).not.toBe(before);
      await sessionOf(refreshed.accessToken);
    });

    it("refuses to use the cookie from a foreign or missing origin (FORBIDDEN), leaving it intact", async () => {
      const client = browser();
      await client.call().auth.register(account());
      const before = client.cookie.value;
      const error = await trpcErrorOf(client.call({ origin: "foreign" }).auth.refresh());
      expect(error.code).toBe("FORBIDDEN");
      expect(client.cookie.value).toBe(before);
      await expect(client.call().auth.refresh()).resolves.toHaveProperty("accessToken");
    });

    it("accepts a refresh token in the body from any origin, since it is not ambient", async () => {
      const client = browser();
      const signedIn = await client.call().auth.register({ ...account(), refreshTokenIn: "body" });
      const refreshed = await client
        .call({ origin: "foreign" })
        .auth.refresh({ refreshToken: signedIn.refreshToken!, refreshTokenIn: "body" });
      expect(refreshed.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(refreshed.refreshToken).not.toBe(signedIn.refreshToken);
    });

    it("answers UNAUTHORIZED without a cookie, and leaves a refused cookie alone (a racing tab may hold its successor)", async () => {
      const client = browser();
      expect((await trpcErrorOf(client.call().auth.refresh())).code).toBe("UNAUTHORIZED");

      await client.call().auth.register(account());
      const stale = client.cookie.value;
      await client.call().auth.refresh();
      deps.clock.advance(60_000);
      client.cookie.value = stale; // a copy of a consumed token: reuse, which revokes the family
      expect((await trpcErrorOf(client.call().auth.refresh())).code).toBe("UNAUTHORIZED");
      expect(client.cookie.value).toBe(stale);
    });

    it("refuses a malformed body token and unknown fields with BAD_REQUEST", async () => {
      const client = browser();
      expect((await trpcErrorOf(client.call().auth.refresh({ refreshToken: "short" } as never))).code).toBe("BAD_REQUEST");
      expect((await trpcErrorOf(client.call().auth.refresh({ token: "x" } as never))).code).toBe("BAD_REQUEST");
    });
  });

  describe("logout", () => {
    it("ends the cookie's session, clears the cookie and tells the sockets", async () => {
      const client = browser();
      const signedIn = await client.call().auth.register(account());
      const session = await sessionOf(signedIn.accessToken);
      const events = await deps.recordEvents({ userId: signedIn.user.id });

      await expect(client.call().auth.logout()).resolves.toEqual({ loggedOut: true });

      expect(client.cookie.value).toBeNull();
      await expect(sessionOf(signedIn.accessToken)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
      await settle();
      expect(events).toEqual([{ type: "session.revoked", sessionId: session.sessionId }]);
    });

    it("refuses to use the cookie from a foreign origin (FORBIDDEN)", async () => {
      const client = browser();
      const signedIn = await client.call().auth.register(account());
      expect((await trpcErrorOf(client.call({ origin: "foreign" }).auth.logout())).code).toBe("FORBIDDEN");
      await expect(sessionOf(signedIn.accessToken)).resolves.toMatchObject({ userId: signedIn.user.id });
    });

    it("accepts the refresh token in the body", async () => {
      const client = browser();
      const signedIn = await client.call().auth.register({ ...account(), refreshTokenIn: "body" });
      await client.call({ origin: "foreign" }).auth.logout({ refreshToken: signedIn.refreshToken! });
      await expect(sessionOf(signedIn.accessToken)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    });

    it("ends the bearer's session when there is no refresh token", async () => {
      const client = browser();
      const signedIn = await client.call().auth.register({ ...account(), refreshTokenIn: "body" });
      const session = await sessionOf(signedIn.accessToken);
      await client.call({ session }).auth.logout();
      await expect(sessionOf(signedIn.accessToken)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    });

    it("succeeds with nothing left to end", async () => {
      await expect(browser().call().auth.logout()).resolves.toEqual({ loggedOut: true });
    });
  });

  describe("me and wsTicket", () => {
    it("need a session (UNAUTHORIZED without one)", async () => {
      const anonymous = browser().call();
      expect((await trpcErrorOf(anonymous.auth.me())).code).toBe("UNAUTHORIZED");
      expect((await trpcErrorOf(anonymous.auth.wsTicket())).code).toBe("UNAUTHORIZED");
    });

    it("return the caller's profile, and a one-time ticket carrying the resume map", async () => {
      const client = browser();
      const signedIn = await client.call().auth.register(account());
      const session = await sessionOf(signedIn.accessToken);
      await expect(client.call({ session }).auth.me()).resolves.toEqual(signedIn.user);

      const roomId = crypto.randomUUID();
      const { ticket, expiresAt } = await client.call({ session }).auth.wsTicket({ resume: { [roomId]: { seq: 7, epoch: 3 } } });
      expect(new Date(expiresAt).getTime()).toBeGreaterThan(deps.clock.now().getTime());
      await expect(deps.services.auth.redeemWsTicket(ticket)).resolves.toEqual({ ...session, resume: { [roomId]: { seq: 7, epoch: 3 } } });
    });

    it("refuse a malformed resume map with BAD_REQUEST", async () => {
      const client = browser();
      const signedIn = await client.call().auth.register(account());
      const session = await sessionOf(signedIn.accessToken);
      const error = await trpcErrorOf(client.call({ session }).auth.wsTicket({ resume: { "not-a-uuid": { seq: 1, epoch: 1 } } }));
      expect(error.code).toBe("BAD_REQUEST");
      // A bare seq (the format before stream epochs) and a negative one are refused alike: no position without its epoch.
      for (const position of [5, { seq: 5 }, { seq: -1, epoch: 1 }, { seq: 1, epoch: 1, extra: true }]) {
        const refused = await trpcErrorOf(client.call({ session }).auth.wsTicket({ resume: { [crypto.randomUUID()]: position as never } }));
        expect(refused.code, JSON.stringify(position)).toBe("BAD_REQUEST");
      }
    });
  });
});
