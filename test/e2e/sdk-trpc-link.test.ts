import { createTRPCClient } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createParleyClient, type SessionTokens } from "../../client-sdk/src/index.ts";
import type { AppRouter } from "../../src/contract.ts";
import { uniqueUsername } from "../support/factories.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";

/**
 * `parley.link()` is what a TanStack Query app hands its own tRPC client (`createTRPCClient({ links: [parley.link()] })`,
 * then TRPCProvider): the same auth, refresh and batching as `parley.api`, checked against a real server.
 */
describe("the SDK's tRPC link, in a tRPC client of the app's own, against Bun", () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer("bun");
  });
  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  async function registered(): Promise<SessionTokens> {
    const parley = createParleyClient({ url: server.url, WebSocket: WebSocket as never });
    const username = uniqueUsername("link");
    await parley.register({ email: `${username}@example.test`, username, password: "correct horse battery staple" });
    return parley.tokens() as SessionTokens;
  }

  it("sends the session's access token, and on a refused one refreshes the session once and retries the call", async () => {
    const tokens = await registered();
    const sessions: (SessionTokens | null)[] = [];
    // An access token the server refuses (as a rotated-away one would be) that the SDK does not know is expired.
    const parley = createParleyClient({
      url: server.url,
      WebSocket: WebSocket as never,
      session: { ...tokens, accessToken: "not-a-valid-access-token" },
      onSessionChange: (next) => sessions.push(next),
    });
    const trpc = createTRPCClient<AppRouter>({ links: [parley.link()] });

    await expect(trpc.rooms.list.query()).resolves.toEqual([]);

    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.accessToken).not.toBe("not-a-valid-access-token");
    expect(sessions[0]?.refreshToken).not.toBe(tokens.refreshToken); // rotated
    await expect(parley.getAccessToken()).resolves.toBe(sessions[0]?.accessToken);
    const room = await trpc.rooms.create.mutate({ name: "made through the link", kind: "public" });
    await expect(parley.api.rooms.get.query({ roomId: room.id })).resolves.toMatchObject({ name: "made through the link" });
    expect(sessions).toHaveLength(1); // the refreshed token served both clients
  });

  it("batches like parley.api: 17 calls made together go as 16 + 1, the server's TRPC_MAX_BATCH", async () => {
    const tokens = await registered();
    const requests: string[] = [];
    const parley = createParleyClient({
      url: server.url,
      WebSocket: WebSocket as never,
      session: tokens,
      // The real fetch, counted.
      fetch: ((input: RequestInfo | URL, init?: RequestInit) => {
        requests.push(String(input));
        return fetch(input, init);
      }) as typeof fetch,
    });
    const trpc = createTRPCClient<AppRouter>({ links: [parley.link()] });

    const lists = await Promise.all(Array.from({ length: 17 }, () => trpc.rooms.list.query()));

    expect(lists).toHaveLength(17);
    expect(requests.map((url) => new URL(url).pathname.split(",").length)).toEqual([16, 1]);
  });

  it("answers null for the access token once signed out", async () => {
    const parley = createParleyClient({ url: server.url, WebSocket: WebSocket as never, session: await registered() });
    await expect(parley.getAccessToken()).resolves.toMatch(/\S/);
    await parley.logout();
    await expect(parley.getAccessToken()).resolves.toBeNull();
  });
});
