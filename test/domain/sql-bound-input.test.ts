import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../../src/transport/trpc/app-router.ts";
import { createInnerContext } from "../../src/transport/trpc/context.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser, TEST_PASSWORD } from "../support/factories.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { token } from "./room-fixtures.ts";
import { callerFor, inputIssues, trpcError } from "./trpc-calls.ts";

/** A keyset cursor as the server encodes one: base64url JSON of [sort value, row id]. */
const cursorOf = (key: unknown): string => Buffer.from(JSON.stringify(key), "utf8").toString("base64url");

/** Text Postgres refuses (NUL), text it cannot encode (lone surrogates), and other control characters. */
const HOSTILE_TEXT = ["a\u0000b", "\u0000", "a\u0001b", "a\u001Bb", "a\u007Fb", "a\u009Fb", "a\uD800b", "\uDFFF"];

describe.each(databaseKinds)("text and cursors that reach SQL on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const anonymous = (): ReturnType<typeof createCaller> => createCaller(createInnerContext({ services: deps.services }));
  const issueFor = (field: string, text: string): string =>
    text.isWellFormed() ? `${field} must not contain control characters` : `${field} must be well-formed Unicode (no lone surrogates)`;

  it("refuses NUL, other control characters and lone surrogates in auth.login's login with BAD_REQUEST", async () => {
    for (const login of HOSTILE_TEXT) {
      const issues = await inputIssues(anonymous().auth.login({ login, password: TEST_PASSWORD }));
      expect(issues, JSON.stringify(login)).toEqual([issueFor("login", login)]);
    }
  });

  it("answers any password at login, control characters included, as a wrong password: nothing is revealed", async () => {
    const user = await createUser(deps.database);
    for (const password of ["a\u0000b", "\uD800 long enough", "tab\there and more"]) {
      expect(await trpcError(anonymous().auth.login({ login: user.username, password })), JSON.stringify(password)).toMatchObject({
        code: "UNAUTHORIZED",
        message: "wrong login or password",
      });
    }
    await expect(anonymous().auth.login({ login: user.username, password: TEST_PASSWORD })).resolves.toMatchObject({ user });
  });

  it("refuses control characters and lone surrogates in a new password at auth.register", async () => {
    for (const password of ["long enough\u0000", "long enough\u0007", "long\tenough", "long enough\uD800"]) {
      const account = { email: `${token()}@example.test`, username: token(), password };
      const issues = await inputIssues(anonymous().auth.register(account));
      expect(issues, JSON.stringify(password)).toEqual([issueFor("password", password)]);
    }
  });

  it("refuses NUL, other control characters and lone surrogates in users.search", async () => {
    const caller = callerFor(deps.services, (await createUser(deps.database)).id);
    for (const query of HOSTILE_TEXT) {
      expect(await inputIssues(caller.users.search({ query })), JSON.stringify(query)).toEqual([issueFor("query", query)]);
    }
  });

  it("refuses NUL, other control characters and lone surrogates in rooms.discover's query", async () => {
    const caller = callerFor(deps.services, (await createUser(deps.database)).id);
    for (const query of HOSTILE_TEXT) {
      expect(await inputIssues(caller.rooms.discover({ query })), JSON.stringify(query)).toEqual([issueFor("query", query)]);
    }
  });

  it("refuses a members cursor whose timestamp is not a real instant, or whose id is not a uuid", async () => {
    const owner = await createUser(deps.database);
    const caller = callerFor(deps.services, owner.id);
    const room = await caller.rooms.create({ name: token(), kind: "private" });
    const id = crypto.randomUUID();
    const forged = [
      ["9999-99-99 99:99:99+00", id],
      ["2026-02-30 10:00:00+00", id],
      ["2025-02-29 10:00:00+00", id],
      ["2026-13-01 10:00:00+00", id],
      ["2026-00-10 10:00:00+00", id],
      ["2026-01-01 24:00:00+00", id],
      ["2026-01-01 10:60:00+00", id],
      ["2026-01-01 10:00:60+00", id],
      ["2026-01-01 10:00:00+16", id],
      ["2026-01-01 10:00:00+05:60", id],
      ["0000-01-01 00:00:00+00", id],
      ["2026-01-01 10:00:00.1234567+00", id],
      ["2026-01-01T10:00:00Z", id],
      ["2026-01-01 10:00:00+00", "not-a-uuid"],
      ["2026-01-01 10:00:00+00", `${id}\u0000`],
      ["2026-01-01 10:00:00+00\u0000", id],
      ["2026-01-01 10:00:00+00"],
    ];
    for (const key of forged) {
      expect(await inputIssues(caller.rooms.members({ roomId: room.id, cursor: cursorOf(key) })), JSON.stringify(key)).toEqual([
        "invalid cursor",
      ]);
    }
    // Real instants, however written, are accepted: a leap day, microseconds, an offset with minutes.
    for (const instant of ["2024-02-29 23:59:59.999999+00", "2000-01-01 00:00:00+05:30", "2026-06-30 12:00:00-09:30:15"]) {
      const page = await caller.rooms.members({ roomId: room.id, cursor: cursorOf([instant, id]) });
      expect(page.nextCursor, instant).toBeNull();
    }
  });

  it("refuses a discover cursor whose name carries NUL, a control character or a lone surrogate, or outgrows a room name", async () => {
    const caller = callerFor(deps.services, (await createUser(deps.database)).id);
    const id = crypto.randomUUID();
    for (const name of [...HOSTILE_TEXT, "n".repeat(81)]) {
      expect(await inputIssues(caller.rooms.discover({ cursor: cursorOf([name, id]) })), JSON.stringify(name)).toEqual(["invalid cursor"]);
    }
    expect(await inputIssues(caller.rooms.discover({ cursor: cursorOf(["name", "not-a-uuid"]) }))).toEqual(["invalid cursor"]);
    await expect(caller.rooms.discover({ cursor: cursorOf(["n".repeat(80), id]) })).resolves.toMatchObject({ nextCursor: null });
  });
});
