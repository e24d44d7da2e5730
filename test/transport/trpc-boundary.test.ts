import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInProcessApp, type InProcessApp } from "../support/in-process-app.ts";
import { uniqueUsername } from "../support/factories.ts";

type TrpcAnswer = { result?: { data: unknown }; error?: { message: string; data: Record<string, unknown> } };

/**
 * The edge every tRPC call crosses: batches, budgets, error answers, caching and logging — on the real app
 * (config, composition root, services, PGlite), called in-process so a spec can look inside the services it uses.
 */
describe("the tRPC boundary", () => {
  let parley: InProcessApp;
  let token: string;

  const json = { "content-type": "application/json" };
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${token}` });

  /** POSTs `calls` (one input per procedure path) as one batch request. */
  function mutateBatch(paths: string[], inputs: unknown[]): ReturnType<InProcessApp["call"]> {
    const body = Object.fromEntries(inputs.map((input, index) => [String(index), input]));
    return parley.call(`/trpc/${paths.join(",")}?batch=1`, { method: "POST", headers: { ...json, ...auth() }, body: JSON.stringify(body) });
  }
  function queryBatch(paths: string[]): ReturnType<InProcessApp["call"]> {
    return parley.call(`/trpc/${paths.join(",")}?batch=1&input=${encodeURIComponent("{}")}`, { headers: auth() });
  }
  async function myRoomCount(): Promise<number> {
    const answer = await parley.call("/trpc/rooms.list", { headers: auth() });
    return ((answer.json as TrpcAnswer).result?.data as unknown[]).length;
  }

  beforeAll(async () => {
    parley = await createInProcessApp({
      TRPC_MAX_BATCH: "16",
      RATE_LIMIT_ROOM_CREATE_PER_USER: "5/600",
      RATE_LIMIT_CALLS_PER_USER: "200/60",
    });
    const username = uniqueUsername("edge");
    const registered = await parley.call("/trpc/auth.register", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ email: `${username}@example.test`, username, password: "correct horse battery", refreshTokenIn: "body" }),
    });
    token = ((registered.json as TrpcAnswer).result?.data as { accessToken: string }).accessToken;
  });

  afterAll(async () => {
    await parley?.close();
  });

  it("refuses a batch over TRPC_MAX_BATCH whole, with one typed BAD_REQUEST, and runs none of its calls", async () => {
    const paths = Array.from({ length: 17 }, () => "rooms.create");
    const inputs = paths.map((_, index) => ({ name: `batch ${index}`, kind: "private" }));
    const before = await myRoomCount();
    const answer = await mutateBatch(paths, inputs);
    expect(answer.status).toBe(400);
    const body = answer.json as TrpcAnswer | TrpcAnswer[];
    const errors = Array.isArray(body) ? body : [body];
    expect(errors).toHaveLength(1);
    expect(errors[0]?.error).toMatchObject({ message: expect.stringMatching(/batch/i), data: { code: "BAD_REQUEST" } });
    expect(await myRoomCount()).toBe(before);

    const sixteen = await queryBatch(Array.from({ length: 16 }, () => "auth.me"));
    expect(sixteen.status).toBe(200);
    expect(sixteen.json).toHaveLength(16);
  });

  it("resolves the caller's session once per HTTP request, however many calls the batch holds", async () => {
    const auth = parley.deps.services.auth;
    const verify = auth.verifyAccessToken;
    let verifications = 0;
    auth.verifyAccessToken = (accessToken) => {
      verifications += 1;
      return verify(accessToken);
    };
    try {
      const answer = await queryBatch(Array.from({ length: 12 }, () => "auth.me"));
      expect(answer.status).toBe(200);
      expect(verifications).toBe(1);
    } finally {
      auth.verifyAccessToken = verify;
    }
  });

  it("charges every call inside a batch to the same limits as a single call", async () => {
    const before = await myRoomCount();
    const paths = Array.from({ length: 8 }, () => "rooms.create");
    const answer = await mutateBatch(paths, paths.map((_, index) => ({ name: `limited ${index}`, kind: "private" })));
    const results = answer.json as TrpcAnswer[];
    const refused = results.filter((result) => result.error?.data.code === "TOO_MANY_REQUESTS");
    // RATE_LIMIT_ROOM_CREATE_PER_USER is 5 per 600 s: five rooms, three refusals with a retry hint.
    expect(results.filter((result) => result.result)).toHaveLength(5);
    expect(refused).toHaveLength(3);
    expect(refused[0]?.error?.data.retryAfterSeconds).toBeGreaterThan(0);
    expect(await myRoomCount()).toBe(before + 5);
  });

  it("answers an unexpected error with a generic message and an errorId that is also in the log line — no SQL, no parameters", async () => {
    const users = parley.deps.services.users;
    const search = users.search;
    users.search = async () => {
      throw new Error('Failed query: select "id" from "users" where lower("email") like $1\nparams: victim@example.com');
    };
    try {
      const answer = await parley.call(`/trpc/users.search?input=${encodeURIComponent(JSON.stringify({ query: "vic" }))}`, { headers: auth() });
      expect(answer.status).toBe(500);
      const error = (answer.json as TrpcAnswer).error;
      expect(error).toMatchObject({ message: "internal error", data: { code: "INTERNAL_SERVER_ERROR" } });
      const errorId = error?.data.errorId;
      expect(errorId).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.text).not.toMatch(/Failed query|select|victim|params|stack/i);
      const line = parley.logs.find((entry) => entry.errorId === errorId);
      expect(line).toMatchObject({ level: "error", path: "users.search", outcome: "INTERNAL_SERVER_ERROR" });
      expect(JSON.stringify(line)).not.toContain("victim@example.com");
    } finally {
      users.search = search;
    }
  });

  it("marks every /trpc answer no-store: tokens and personal data must not be cached", async () => {
    const me = await parley.call("/trpc/auth.me", { headers: auth() });
    const refused = await parley.call("/trpc/auth.me");
    const login = await parley.call("/trpc/auth.login", { method: "POST", headers: json, body: JSON.stringify({ login: "nobody", password: "wrong password" }) });
    for (const answer of [me, refused, login]) expect(answer.headers.get("cache-control")).toBe("no-store");
  });

  it("logs each call of a batch on its own line with path, outcome and duration, under the request's id", async () => {
    const requestId = `req-${crypto.randomUUID()}`;
    const body = JSON.stringify({ "0": { name: "logged", kind: "private" }, "1": { name: "", kind: "private" } });
    await parley.call("/trpc/rooms.create,rooms.create?batch=1", { method: "POST", headers: { ...json, ...auth(), "x-request-id": requestId }, body });
    const lines = parley.logs.filter((entry) => entry.requestId === requestId);
    const calls = lines.filter((entry) => entry.msg === "call");
    expect(calls.map((entry) => [entry.path, entry.outcome])).toEqual(
      expect.arrayContaining([
        ["rooms.create", expect.stringMatching(/^(ok|TOO_MANY_REQUESTS)$/)],
        ["rooms.create", "BAD_REQUEST"],
      ]),
    );
    for (const entry of calls) expect(entry.ms).toEqual(expect.any(Number));
    expect(lines.find((entry) => entry.msg === "request")).toMatchObject({ status: expect.any(Number), path: "/trpc/rooms.create,rooms.create" });
  });
});
