import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userBlocks, users } from "../../src/infra/db/schema.ts";
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
      expect(user).toEqual({
        id: other.id,
        username: other.username,
        displayName: "Ada Lovelace",
        bio: "",
        status: null,
        timezone: null,
        deleted: false,
        avatarFileId: null,
      });
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

  describe("profiles (users.updateMe, users.me, users.get)", () => {
    it("sets bio, status, timezone and DM policy; my own view shows them all, users.get the public part", async () => {
      const me = await createUser(deps.database);
      const viewer = await createUser(deps.database);
      const updated = await callerFor(me.id).users.updateMe({
        bio: "  Line one\n\tLine two  ",
        status: { text: "In a meeting", emoji: "📅", expiresInSeconds: 3600 },
        timezone: "Europe/Berlin",
        dmPolicy: "friends",
      });
      const expiresAt = new Date(deps.clock.now().getTime() + 3_600_000).toISOString();
      expect(updated).toMatchObject({
        id: me.id,
        bio: "Line one\n\tLine two",
        status: { text: "In a meeting", emoji: "📅", expiresAt },
        timezone: "Europe/Berlin",
        dmPolicy: "friends",
        privateReceipts: false,
      });
      expect(await deps.services.auth.me({ userId: me.id, sessionId: "s" })).toEqual(updated);
      const seen = await callerFor(viewer.id).users.get({ userId: me.id });
      expect(seen).toEqual({
        id: me.id,
        username: me.username,
        displayName: me.displayName,
        bio: "Line one\n\tLine two",
        status: { text: "In a meeting", emoji: "📅", expiresAt },
        timezone: "Europe/Berlin",
        deleted: false,
        avatarFileId: null,
      });
      expect(seen).not.toHaveProperty("email");
      expect(seen).not.toHaveProperty("dmPolicy");
    });

    it("keeps a status without expiry until it is cleared with null; an expired status reads as null everywhere", async () => {
      const me = await createUser(deps.database);
      const caller = callerFor(me.id);
      expect((await caller.users.updateMe({ status: { text: "Around", emoji: "👋🏽" } })).status).toEqual({ text: "Around", emoji: "👋🏽", expiresAt: null });
      expect((await caller.users.updateMe({ status: null })).status).toBeNull();

      await caller.users.updateMe({ status: { text: "Lunch", emoji: "🍜", expiresInSeconds: 60 } });
      deps.clock.advance(61_000);
      expect((await caller.users.get({ userId: me.id })).status).toBeNull();
      expect((await deps.services.auth.me({ userId: me.id, sessionId: "s" })).status).toBeNull();
      expect((await caller.users.updateMe({ bio: "still here" })).status).toBeNull();
    });

    it("stores a time zone by its canonical name, accepts UTC and clears it with null", async () => {
      const me = await createUser(deps.database);
      const caller = callerFor(me.id);
      expect((await caller.users.updateMe({ timezone: "UTC" })).timezone).toBe("UTC");
      expect((await caller.users.updateMe({ timezone: "america/new_york" })).timezone).toBe("America/New_York");
      expect((await caller.users.updateMe({ timezone: null })).timezone).toBeNull();
    });

    it("refuses a bio over 280 characters or with control characters, bad statuses, unknown zones and policies, and an empty change", async () => {
      const me = await createUser(deps.database);
      const caller = callerFor(me.id);
      // 280 characters of 4-byte emoji are fine: the limit counts characters, not bytes.
      expect((await caller.users.updateMe({ bio: "🙂".repeat(280) })).bio).toBe("🙂".repeat(280));
      const refused: unknown[] = [
        {},
        { bio: "x".repeat(281) },
        { bio: "bell\u0007" },
        { bio: "lone \uD800 surrogate" },
        { status: { text: "", emoji: "🙂" } },
        { status: { text: "x".repeat(101), emoji: "🙂" } },
        { status: { text: "two\nlines", emoji: "🙂" } },
        { status: { text: "ok", emoji: "not emoji" } },
        { status: { text: "ok", emoji: "🙂🙂" } },
        { status: { text: "ok", emoji: "🙂", expiresInSeconds: 30 * 86_400 + 1 } },
        { status: { text: "ok", emoji: "🙂", expiresInSeconds: 0 } },
        { status: { text: "ok", emoji: "🙂", expiresAt: "2030-01-01T00:00:00Z" } },
        { timezone: "Mars/Olympus_Mons" },
        { timezone: "+01:00" },
        { timezone: "" },
        { timezone: "Europe/Berlin\u0000" },
        { dmPolicy: "strangers" },
        { email: "new@example.test" },
      ];
      for (const input of refused) {
        expect(await inputIssues(caller.users.updateMe(input as never)), JSON.stringify(input)).not.toEqual([]);
      }
      expect((await caller.users.get({ userId: me.id })).bio).toBe("🙂".repeat(280));
    });
  });

  describe("users.search and privacy", () => {
    it("never returns emails, even when the query is someone's email", async () => {
      const viewer = await createUser(deps.database);
      const t = token();
      const target = await createUser(deps.database, { username: `${t}_mail`, email: `${t}@example.test` });
      const byName = await callerFor(viewer.id).users.search({ query: t });
      expect(byName).toEqual([{ id: target.id, username: target.username, displayName: target.displayName }]);
      expect(JSON.stringify(byName)).not.toContain("@");
      expect(await callerFor(viewer.id).users.search({ query: `${t}@example` })).toEqual([]);
    });

    it("leaves out deleted accounts and, either way round, users in a block with me", async () => {
      const viewer = await createUser(deps.database);
      const t = token();
      const [visible, blockedByMe, blockingMe, deleted] = await Promise.all(
        ["a", "b", "c", "d"].map((suffix) => createUser(deps.database, { username: `${t}_${suffix}` })),
      );
      await deps.database.db.insert(userBlocks).values([
        { blockerId: viewer.id, blockedId: blockedByMe!.id },
        { blockerId: blockingMe!.id, blockedId: viewer.id },
      ]);
      await deps.database.db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, deleted!.id));
      const found = await callerFor(viewer.id).users.search({ query: t });
      expect(found.map((user) => user.id)).toEqual([visible!.id]);
      // Someone outside the block still finds them all but the deleted one.
      const outsider = await createUser(deps.database);
      expect((await callerFor(outsider.id).users.search({ query: t })).map((user) => user.id)).toEqual(
        [visible!.id, blockedByMe!.id, blockingMe!.id],
      );
    });
  });
});
