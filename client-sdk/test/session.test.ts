import { describe, expect, it } from "vitest";
import { createSession, type IssuedTokens, type Session, type SessionTokens } from "../src/session.ts";

/**
 * The SDK's token holder. `callRefresh` is the one seam to the server (auth.refresh); here it is a function the
 * test answers, and `now` is a clock the test sets, so expiry margins are exact.
 */
const T0 = Date.parse("2030-01-01T00:00:00Z");
const at = (offsetMs: number): string => new Date(T0 + offsetMs).toISOString();
const MINUTE = 60_000;

interface Harness {
  session: Session;
  /** The refresh token each auth.refresh call carried. */
  calls: (string | null)[];
  /** Every session handed to onChange, in order. */
  changes: (SessionTokens | null)[];
  clock: { now: number };
}

function harness(options: {
  refreshTokenIn: "cookie" | "body";
  initial?: SessionTokens | null;
  answer?: (refreshToken: string | null, call: number) => Promise<IssuedTokens>;
}): Harness {
  const h: Harness = { session: undefined as never, calls: [], changes: [], clock: { now: T0 } };
  const rotate = async (_refreshToken: string | null, call: number): Promise<IssuedTokens> => ({
    accessToken: `access-${call}`,
    accessTokenExpiresAt: at(15 * MINUTE),
    ...(options.refreshTokenIn === "body" ? { refreshToken: `refresh-${call}` } : {}),
  });
  h.session = createSession({
    refreshTokenIn: options.refreshTokenIn,
    initial: options.initial ?? null,
    now: () => h.clock.now,
    onChange: (tokens) => h.changes.push(tokens),
    callRefresh: (refreshToken) => {
      h.calls.push(refreshToken);
      return (options.answer ?? rotate)(refreshToken, h.calls.length);
    },
  });
  return h;
}

const signedIn = (expiresInMs: number): SessionTokens => ({ accessToken: "access-0", accessTokenExpiresAt: at(expiresInMs), refreshToken: "refresh-0" });

describe("session", () => {
  it("shares one refresh among concurrent callers, so a refresh token is never presented twice", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { session, calls } = harness({
      refreshTokenIn: "body",
      initial: signedIn(10 * MINUTE),
      answer: async (_token, call) => {
        await gate;
        return { accessToken: `access-${call}`, accessTokenExpiresAt: at(15 * MINUTE), refreshToken: `refresh-${call}` };
      },
    });
    const refreshes = Array.from({ length: 10 }, () => session.refresh());
    release();
    await Promise.all(refreshes);
    expect(calls).toEqual(["refresh-0"]);
    expect(session.current()).toEqual({ accessToken: "access-1", accessTokenExpiresAt: at(15 * MINUTE), refreshToken: "refresh-1" });

    await session.refresh(); // a later refresh is a new request, with the rotated token
    expect(calls).toEqual(["refresh-0", "refresh-1"]);
  });

  it("hands out a fresh access token as is, without refreshing", async () => {
    const { session, calls } = harness({ refreshTokenIn: "body", initial: signedIn(10 * MINUTE) });
    expect(await session.accessToken()).toBe("access-0");
    expect(calls).toEqual([]);
  });

  it("refreshes an access token within 30 s of expiry before handing it out, once for concurrent callers", async () => {
    const { session, calls, clock } = harness({ refreshTokenIn: "body", initial: signedIn(MINUTE) });
    clock.now = T0 + 30_001; // 29.999 s left
    const tokens = await Promise.all([session.accessToken(), session.accessToken(), session.accessToken()]);
    expect(tokens).toEqual(["access-1", "access-1", "access-1"]);
    expect(calls).toEqual(["refresh-0"]);
  });

  it("refreshes an access token that has already expired", async () => {
    const { session, calls } = harness({ refreshTokenIn: "body", initial: signedIn(-MINUTE) });
    expect(await session.accessToken()).toBe("access-1");
    expect(calls).toHaveLength(1);
  });

  it("has no access token when signed out, and asks the server for none", async () => {
    const { session, calls } = harness({ refreshTokenIn: "body" });
    expect(await session.accessToken()).toBeNull();
    expect(calls).toEqual([]);
  });

  it("clears the session when a refresh fails, and tells onChange", async () => {
    const refused = new Error("refresh token reused");
    const { session, changes } = harness({ refreshTokenIn: "body", initial: signedIn(10 * MINUTE), answer: () => Promise.reject(refused) });
    await expect(session.refresh()).rejects.toBe(refused);
    expect(session.current()).toBeNull();
    expect(changes).toEqual([null]);
    expect(await session.accessToken()).toBeNull();
  });

  it("fails an expiring token's use when its refresh fails, rather than sending the stale token", async () => {
    const refused = new Error("session revoked");
    const { session } = harness({ refreshTokenIn: "body", initial: signedIn(10_000), answer: () => Promise.reject(refused) });
    await expect(session.accessToken()).rejects.toBe(refused);
    expect(session.current()).toBeNull();
  });

  it("body mode: keeps the refresh token, presents it, and keeps the old one when none is reissued", async () => {
    let reissue = true;
    const { session, calls } = harness({
      refreshTokenIn: "body",
      answer: async (_token, call) => ({ accessToken: `access-${call}`, accessTokenExpiresAt: at(15 * MINUTE), ...(reissue ? { refreshToken: `refresh-${call}` } : {}) }),
    });
    session.accept({ accessToken: "access-0", accessTokenExpiresAt: at(15 * MINUTE), refreshToken: "refresh-0" });
    expect(session.current()?.refreshToken).toBe("refresh-0");
    await session.refresh();
    expect(session.current()).toMatchObject({ accessToken: "access-1", refreshToken: "refresh-1" });
    reissue = false;
    await session.refresh();
    expect(session.current()).toMatchObject({ accessToken: "access-2", refreshToken: "refresh-1" });
    expect(calls).toEqual(["refresh-0", "refresh-1"]);
  });

  it("body mode: refuses to refresh without a refresh token, without calling the server", async () => {
    const { session, calls } = harness({ refreshTokenIn: "body", initial: { ...signedIn(10 * MINUTE), refreshToken: null } });
    await expect(session.refresh()).rejects.toThrow("not signed in");
    expect(calls).toEqual([]);
    expect(session.current()).toBeNull();
  });

  it("a refresh refused for want of a token does not poison later refreshes", async () => {
    const { session, calls } = harness({ refreshTokenIn: "body" });
    await expect(session.refresh()).rejects.toThrow("not signed in"); // e.g. restore() before any login
    session.accept({ accessToken: "access-0", accessTokenExpiresAt: at(15 * MINUTE), refreshToken: "refresh-0" });
    await session.refresh();
    expect(calls).toEqual(["refresh-0"]);
    expect(session.current()?.accessToken).toBe("access-1");
  });

  it("cookie mode: never keeps a refresh token, and refreshes from the cookie alone", async () => {
    const { session, calls, changes } = harness({ refreshTokenIn: "cookie" });
    session.accept({ accessToken: "access-0", accessTokenExpiresAt: at(15 * MINUTE), refreshToken: "would-be-leaked" });
    expect(session.current()).toEqual({ accessToken: "access-0", accessTokenExpiresAt: at(15 * MINUTE), refreshToken: null });
    await session.refresh();
    expect(calls).toEqual([null]);
    expect(session.current()).toEqual({ accessToken: "access-1", accessTokenExpiresAt: at(15 * MINUTE), refreshToken: null });
    expect(changes.every((tokens) => tokens?.refreshToken === null)).toBe(true);
  });

  it("cookie mode: restores a session from the cookie alone when signed out (after a page reload)", async () => {
    const { session, calls } = harness({ refreshTokenIn: "cookie" });
    await session.refresh();
    expect(calls).toEqual([null]);
    expect(await session.accessToken()).toBe("access-1");
  });
});
