import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Room, ServerEvent } from "../../src/contract.ts";
import { eventually } from "../support/chatters.ts";
import { uniqueUsername } from "../support/factories.ts";
import { bearer, createHttpProbe, postDeclaringLength, type HttpProbe, type ProbeAnswer, resultOf, type SignedUp, signUp } from "../support/http-probe.ts";
import { deeplyNested, junkValue, seededRandom } from "../support/junk-json.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";
import { openTestSocket, type TestSocket } from "../support/socket-client.ts";

/**
 * Bun answers a request whose head (request line + headers) is over 16 KiB itself, with an empty 431, before the
 * app sees it: a fuzzed GET `?input=` can get there. It is a 4xx, but the one kind of refusal that is not typed.
 */
const HEAD_TOO_LARGE = 431;

/**
 * The "done" criterion of hardening, on the wire of a real Bun server: wrong types, unknown fields, oversize
 * values and bodies, malformed JSON and random junk all get typed 4xx answers — never a 5xx, a crash or a lost
 * message — and the server stays up. Plain `fetch`, no SDK: this is what any client can send.
 */
describe("bad input over HTTP (Bun)", () => {
  let server: ServerProcess;
  let probe: HttpProbe;
  let owner: SignedUp;
  let room: Room;
  /** A member's socket in `room`: every message committed there must reach it, exactly once. */
  let watcher: TestSocket;

  beforeAll(async () => {
    server = await startServer("bun");
    probe = createHttpProbe(server.url);
    owner = await signUp(probe, uniqueUsername("owner"));
    const member = await signUp(probe, uniqueUsername("member"));
    room = resultOf<Room>(await probe.mutate("rooms.create", { name: "bad input", kind: "public" }, { headers: bearer(owner.accessToken) }));
    room = resultOf<Room>(await probe.mutate("rooms.join", { roomId: room.id }, { headers: bearer(member.accessToken) })); // seq 1: the join
    const { ticket } = resultOf<{ ticket: string }>(await probe.mutate("auth.wsTicket", {}, { headers: bearer(member.accessToken) }));
    watcher = await openTestSocket(`${server.url.replace("http", "ws")}/ws?ticket=${ticket}`);
    await watcher.waitFor((event) => event.type === "ready");
  });

  afterAll(async () => {
    watcher?.terminate();
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  /** Asserts a typed refusal: the status, and a JSON body whose error code is `code`. */
  function expectRefused(answer: ProbeAnswer, status: number, code: string, context: string): void {
    expect({ context, status: answer.status, code: answer.errorCode }, answer.text.slice(0, 300)).toEqual({ context, status, code });
  }

  /** The field names the answer's validation issues point at. */
  const issueFields = (answer: ProbeAnswer): string[] =>
    ((answer.json as { error?: { data?: { issues?: { path: string[] }[] } } }).error?.data?.issues ?? []).map((issue) => issue.path[0] ?? "");

  type Call = (input: unknown) => Promise<ProbeAnswer>;
  const mutation = (procedure: string): Call => (input) => probe.mutate(procedure, input, { headers: bearer(owner.accessToken) });
  const query = (procedure: string): Call => (input) => probe.query(procedure, input, { headers: bearer(owner.accessToken) });

  /** For each procedure: a valid input, and per field the values of the wrong type to put there. */
  const WRONG = [42, true, null, ["x"], { x: 1 }];
  const NOT_A_COUNT = ["5", true, null, [1], {}, 1.5, -1];
  const procedures = (): { name: string; call: Call; valid: () => Record<string, unknown>; fields: Record<string, unknown[]> }[] => [
    {
      name: "auth.register",
      call: mutation("auth.register"),
      valid: () => ({ email: "wt@example.test", username: uniqueUsername("wt"), password: "correct horse battery", displayName: "W", refreshTokenIn: "body" }),
      fields: { email: WRONG, username: WRONG, password: WRONG, displayName: WRONG, refreshTokenIn: [...WRONG, "both"] },
    },
    {
      name: "auth.login",
      call: mutation("auth.login"),
      valid: () => ({ login: owner.user.username, password: "correct horse battery staple", refreshTokenIn: "body" }),
      fields: { login: WRONG, password: WRONG, refreshTokenIn: [...WRONG, "both"] },
    },
    {
      name: "rooms.create",
      call: mutation("rooms.create"),
      valid: () => ({ name: "typed", kind: "public", description: "about" }),
      fields: { name: WRONG, kind: [...WRONG, "secret"], description: WRONG },
    },
    {
      name: "messages.send",
      call: mutation("messages.send"),
      valid: () => ({ roomId: room.id, clientMsgId: `typed-${crypto.randomUUID()}`, body: "typed" }),
      fields: { roomId: [...WRONG, "not-a-uuid"], clientMsgId: [...WRONG, "short"], body: WRONG },
    },
    {
      name: "messages.list",
      call: query("messages.list"),
      valid: () => ({ roomId: room.id, limit: 10 }),
      fields: { roomId: [...WRONG, "not-a-uuid"], before: NOT_A_COUNT, after: NOT_A_COUNT, around: NOT_A_COUNT, limit: [...NOT_A_COUNT, 0] },
    },
  ];

  it("refuses a value of the wrong type in every field of register, login, rooms.create, messages.send and messages.list", async () => {
    for (const procedure of procedures()) {
      for (const [field, values] of Object.entries(procedure.fields)) {
        for (const value of values) {
          const answer = await procedure.call({ ...procedure.valid(), [field]: value });
          const context = `${procedure.name}.${field} = ${JSON.stringify(value)}`;
          expectRefused(answer, 400, "BAD_REQUEST", context);
          expect(issueFields(answer), context).toContain(field);
        }
      }
    }
  });

  it("refuses unknown fields, __proto__ and constructor keys (inputs are strict objects)", async () => {
    for (const procedure of procedures()) {
      for (const extra of ['"isAdmin": true', '"__proto__": {"isAdmin": true}', '"constructor": {"prototype": {}}']) {
        const body = JSON.stringify(procedure.valid()).replace(/^\{/, `{${extra},`);
        const answer =
          procedure.name === "messages.list"
            ? await probe.query(procedure.name, undefined, { headers: bearer(owner.accessToken), rawInput: body })
            : await probe.mutate(procedure.name, body, { headers: bearer(owner.accessToken) });
        expectRefused(answer, 400, "BAD_REQUEST", `${procedure.name} with ${extra}`);
        expect(answer.text).toMatch(/Unrecognized key/);
      }
    }
  });

  it("refuses strings past their limits, naming the field", async () => {
    const family = "👨‍👩‍👧‍👦"; // one character, 25 bytes of UTF-8
    const cases: [string, Record<string, unknown>][] = [
      ["auth.register", { username: "u".repeat(129) }],
      ["auth.register", { username: "u".repeat(33) }],
      ["auth.register", { email: `${"e".repeat(250)}@example.test` }],
      ["auth.register", { password: "p".repeat(257) }],
      ["auth.register", { password: "p".repeat(1025) }],
      ["auth.register", { displayName: "d".repeat(65) }],
      ["auth.login", { login: "l".repeat(255) }],
      ["auth.login", { password: "p".repeat(1025) }],
      ["rooms.create", { name: "n".repeat(81) }],
      ["rooms.create", { description: "d".repeat(501) }],
      ["messages.send", { body: "b".repeat(4001) }],
      ["messages.send", { body: family.repeat(700) }], // 700 characters, but 17,500 bytes
      ["messages.send", { clientMsgId: "c".repeat(65) }],
      ["messages.list", { limit: 101 }],
    ];
    const byName = new Map(procedures().map((procedure) => [procedure.name, procedure]));
    for (const [name, override] of cases) {
      const procedure = byName.get(name);
      if (!procedure) throw new Error(`no procedure ${name}`);
      const [field] = Object.keys(override) as [string];
      const answer = await procedure.call({ ...procedure.valid(), ...override });
      expectRefused(answer, 400, "BAD_REQUEST", `${name}.${field} of ${JSON.stringify(override[field]).length - 2} chars`);
      expect(issueFields(answer)).toContain(field);
    }
  });

  it("refuses bodies over 256 KiB with 413, whether or not they declare a Content-Length", async () => {
    const oversize = JSON.stringify({ login: "x", password: "p".repeat(300 * 1024) });
    expectRefused(await probe.mutate("auth.login", oversize), 413, "PAYLOAD_TOO_LARGE", "declared length");

    const chunks = new TextEncoder().encode(oversize);
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < chunks.length; at += 16 * 1024) controller.enqueue(chunks.slice(at, at + 16 * 1024));
        controller.close();
      },
    });
    const chunked = await probe.request("/trpc/auth.login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: streamed,
      duplex: "half",
    } as RequestInit);
    expectRefused(chunked, 413, "PAYLOAD_TOO_LARGE", "chunked, no length");

    // With Expect: 100-continue the body follows Bun's "continue"; the app reads it to its end and answers 413
    // (test/e2e/oversize-body.test.ts covers what the client receives on every runtime).
    const huge = await postDeclaringLength(`${server.url}/trpc/auth.login`, 2 * 1024 * 1024);
    expect(huge.status).toBe(413);
  });

  it("answers malformed requests with typed 4xx: bad JSON, non-object inputs, deep nesting, unknown routes, wrong methods", async () => {
    for (const body of ["{nope", "{\"login\":", "\u0000", "[1,]", "'single'"]) {
      expectRefused(await probe.mutate("auth.login", body), 400, "BAD_REQUEST", `body ${JSON.stringify(body)}`);
    }
    for (const body of ["null", "[]", '"x"', "42", "true"]) {
      expectRefused(await probe.mutate("auth.login", body), 400, "BAD_REQUEST", `input ${body}`);
    }
    expectRefused(await query("messages.list")(undefined), 400, "BAD_REQUEST", "no input");
    const badQuery = await probe.query("messages.list", undefined, { headers: bearer(owner.accessToken), rawInput: "{nope" });
    expectRefused(badQuery, 400, "BAD_REQUEST", "unparseable ?input");

    const nested = await probe.mutate("messages.send", `{"roomId":${deeplyNested(100_000)}}`, { headers: bearer(owner.accessToken) });
    expect(nested.status, nested.text.slice(0, 300)).toBeGreaterThanOrEqual(400);
    expect(nested.status).toBeLessThan(500);
    expect(nested.errorCode).not.toBeNull();

    expectRefused(await probe.mutate("nope.nothing", {}), 404, "NOT_FOUND", "unknown procedure");
    expectRefused(await probe.query("auth", undefined), 404, "NOT_FOUND", "a router, not a procedure");
    expectRefused(await probe.request("/nowhere"), 404, "NOT_FOUND", "unknown route");
    expectRefused(await probe.query("auth.register", {}), 405, "METHOD_NOT_SUPPORTED", "GET on a mutation");
    expectRefused(await probe.mutate("auth.me", {}, { headers: bearer(owner.accessToken) }), 405, "METHOD_NOT_SUPPORTED", "POST on a query");
    const put = await probe.request("/trpc/auth.login", { method: "PUT", headers: { "content-type": "application/json" }, body: "{}" });
    expectRefused(put, 405, "METHOD_NOT_SUPPORTED", "PUT");
  });

  it("answers a few hundred random junk inputs with 2xx or typed 4xx, never a 5xx, and loses no message", async () => {
    const random = seededRandom(0x9a71e5);
    const statuses = new Map<number, number>();
    const all = procedures();
    const requests: (() => Promise<{ answer: ProbeAnswer; sent: unknown }>)[] = [];
    for (let i = 0; i < 360; i++) {
      const procedure = all[i % all.length] as (typeof all)[number];
      const input: Record<string, unknown> = procedure.valid();
      const mode = random.int(4);
      let sent: unknown = input;
      if (mode === 3) sent = junkValue(random); // the whole input replaced
      else {
        const fields = Object.keys(procedure.fields);
        input[random.pick(fields)] = junkValue(random);
        if (mode === 2) input[random.pick(fields)] = junkValue(random);
        // An own property, also for "__proto__" (a plain assignment would set the prototype instead).
        const extra = { value: junkValue(random), enumerable: true, configurable: true, writable: true };
        if (mode === 1) Object.defineProperty(input, random.pick(["extra", "__proto__", "type"]), extra);
      }
      requests.push(async () => ({ answer: await procedure.call(sent), sent }));
      if (i % 9 === 0) {
        // A valid message among the junk: every one of these must come out the other side.
        const valid = { roomId: room.id, clientMsgId: `among-junk-${i}-${Date.now()}`, body: `valid ${i}` };
        requests.push(async () => ({ answer: await mutation("messages.send")(valid), sent: valid }));
      }
    }
    for (let at = 0; at < requests.length; at += 6) {
      for (const { answer, sent } of await Promise.all(requests.slice(at, at + 6).map((send) => send()))) {
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const context = `${answer.status} for ${JSON.stringify(sent)?.slice(0, 300)}: ${answer.text.slice(0, 300)}`;
        expect(answer.status < 300 || (answer.status >= 400 && answer.status < 500), context).toBe(true);
        if (answer.status === HEAD_TOO_LARGE) {
          expect(encodeURIComponent(JSON.stringify(sent)).length, context).toBeGreaterThan(16 * 1024);
        } else if (answer.status >= 400) {
          expect(answer.errorCode, context).toMatch(/^[A-Z_]+$/);
        }
      }
    }
    expect(statuses.get(400) ?? 0, JSON.stringify([...statuses])).toBeGreaterThan(300);
    expect(statuses.get(200) ?? 0, JSON.stringify([...statuses])).toBeGreaterThanOrEqual(40);

    // Whatever the junk managed to commit reached the room's member: once each, in order, nothing missing.
    const last = resultOf<{ seq: number }>(await mutation("messages.send")({ roomId: room.id, clientMsgId: `fuzz-end-${Date.now()}`, body: "end" }));
    await watcher.waitFor((event) => event.type === "message.created" && event.seq === last.seq, 8000);
    const delivered = watcher.events.flatMap((event: ServerEvent) => (event.type === "message.created" && event.roomId === room.id ? [event.seq] : []));
    const stored: number[] = [];
    for (let after = 0, more = true; more; ) {
      const page = resultOf<{ messages: { seq: number }[]; hasNewer: boolean }>(await query("messages.list")({ roomId: room.id, after, limit: 100 }));
      stored.push(...page.messages.map((message) => message.seq));
      after = stored.at(-1) ?? after;
      more = page.hasNewer;
    }
    expect(stored).toEqual(Array.from({ length: last.seq - room.lastSeq }, (_, i) => room.lastSeq + i + 1));
    expect(stored.length).toBeGreaterThan(40);
    expect(delivered).toEqual(stored);
  });

  it("answers junk socket frames with typed error frames while acknowledging the valid sends between them", async () => {
    const random = seededRandom(0x50c4e7);
    const { ticket } = resultOf<{ ticket: string }>(await mutation("auth.wsTicket")({}));
    const socket = await openTestSocket(`${server.url.replace("http", "ws")}/ws?ticket=${ticket}`);
    await socket.waitFor((event) => event.type === "ready");
    const junk = Array.from({ length: 10 }, () => JSON.stringify(junkValue(random)) ?? "undefined"); // 10: under the strike limit
    const sent: string[] = [];
    for (const [i, frame] of junk.entries()) {
      socket.sendRaw(frame);
      const clientMsgId = `between-junk-${i}-${Date.now()}`;
      socket.send({ type: "send", roomId: room.id, clientMsgId, body: `between ${i}` });
      sent.push(clientMsgId);
    }
    await eventually(
      () => socket.events.filter((event) => event.type === "error").length === junk.length && socket.events.filter((event) => event.type === "ack").length === sent.length,
      () => JSON.stringify(socket.events).slice(0, 2000),
    );
    const errors = socket.events.flatMap((event) => (event.type === "error" ? [event.code] : []));
    expect(errors).toEqual(Array(junk.length).fill("BAD_FRAME"));
    expect(socket.events.flatMap((event) => (event.type === "ack" ? [event.clientMsgId] : []))).toEqual(sent);
    for (let i = 0; i < sent.length; i++) {
      await watcher.waitFor((event) => event.type === "message.created" && event.message.body === `between ${i}`);
    }
    socket.send({ type: "ping", id: "still-open" });
    await socket.waitFor((event) => event.type === "pong");
    socket.close();
  });

  it("answered nothing but 2xx and typed 4xx in this whole file, and the server is still up", async () => {
    const live = await probe.request("/livez");
    expect(live.status).toBe(200);
    expect(live.headers.get("x-content-type-options")).toBe("nosniff");
    expect(probe.answers.filter((answer) => answer.status >= 500)).toEqual([]);
    const untyped = probe.answers.filter((answer) => answer.status >= 400 && answer.errorCode === null);
    expect(untyped.filter((answer) => answer.status !== HEAD_TOO_LARGE)).toEqual([]);
    expect(probe.answers.length).toBeGreaterThan(500);
    expect(server.exited).toBe(false);
  });
});
