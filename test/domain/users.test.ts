import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseKinds } from "../support/databases.ts";
import { createUser } from "../support/factories.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { type Caller, callerFor as callerWith, inputIssues, trpcError } from "./trpc-calls.ts";

/** A token no other test uses, safe inside usernames ([a-z0-9]). */
function token(): string {
  return `t${Math.random().toString(36).slice(2, 10)}`;
}

describe.each(databaseKinds)("users on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const callerFor = (userId: string): Caller => callerWith(deps.services, userId);

  describe("users.get", () => {
    it("returns the public profile and nothing else", async () => {
      const viewer = await createUser(deps.database);
      const other = await createUser(deps.database, { displayName: "Ada Lovelace" });
      const user = await callerFor(viewer.id).users.get({ userId: other.id });
      expect(user).toEqual({ id: other.id, username: other.username, displayName: "Ada Lovelace" });
    });

    it("is NOT_FOUND for an unknown id and BAD_REQUEST for a malformed one", async () => {
      const viewer = await createUser(deps.database);
      const caller = callerFor(viewer.id);
      expect(await trpcError(caller.users.get({ userId: crypto.randomUUID() }))).toMatchObject({
        code: "NOT_FOUND",
        message: "no such user",
      });
      expect(await inputIssues(caller.users.get({ userId: "not-a-uuid" }))).toHaveLength(1);
    });
  });

  describe("users.search", () => {
    it("matches a case-insensitive prefix of the username or the display name", async () => {
      const viewer = await createUser(deps.database);
      const t = token();
      const byUsername = await createUser(deps.database, { username: `${t}_alice` });
      const byDisplayName = await createUser(deps.database, { displayName: `${t.toUpperCase()} Bob` });
      const middle = await createUser(deps.database, { username: `x${t}`, displayName: `Carol ${t}` });
      const found = await deps.services.users.search(viewer.id, { query: t.toUpperCase(), limit: 20 });
      expect(found.map((user) => user.id).sort()).toEqual([byUsername.id, byDisplayName.id].sort());
      expect(found.map((user) => user.id)).not.toContain(middle.id);
    });

    it("treats % and _ as literal characters, not wildcards", async () => {
      const viewer = await createUser(deps.database);
      const t = token();
      const underscore = await createUser(deps.database, { username: `${t}_x` });
      await createUser(deps.database, { username: `${t}ax` });
      const percent = await createUser(deps.database, { displayName: `${t}100% sure` });
      await createUser(deps.database, { displayName: `${t}100 percent` });
      await createUser(deps.database, { displayName: `${t}1000` });

      const underscores = await deps.services.users.search(viewer.id, { query: `${t}_`, limit: 20 });
      expect(underscores.map((user) => user.id)).toEqual([underscore.id]);
      const percents = await deps.services.users.search(viewer.id, { query: `${t}100%`, limit: 20 });
      expect(percents.map((user) => user.id)).toEqual([percent.id]);
      const backslash = await deps.services.users.search(viewer.id, { query: `${t}\\`, limit: 20 });
      expect(backslash).toEqual([]);
    });

    it("returns at most `limit` users, ordered by username", async () => {
      const viewer = await createUser(deps.database);
      const t = token();
      for (const suffix of ["c", "a", "d", "b"]) await createUser(deps.database, { username: `${t}_${suffix}` });
      const found = await callerFor(viewer.id).users.search({ query: t, limit: 3 });
      expect(found.map((user) => user.username)).toEqual([`${t}_a`, `${t}_b`, `${t}_c`]);
    });

    it("refuses an empty or whitespace-only query, a query over 64 characters, a limit over 50 and unknown fields", async () => {
      const viewer = await createUser(deps.database);
      const caller = callerFor(viewer.id);
      for (const input of [
        { query: "" },
        { query: "   " },
        { query: "x".repeat(65) },
        { query: "ok", limit: 51 },
        { query: "ok", limit: 0 },
        { query: "ok", role: "admin" },
      ]) {
        expect(await inputIssues(caller.users.search(input as { query: string })), JSON.stringify(input)).not.toEqual([]);
      }
    });
  });
});
