import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MemberRole, Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { reports } from "../../src/infra/db/schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { createUsers, roomWithRoles, token } from "./room-fixtures.ts";
import { callerFor, domainError, inputIssues, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

/**
 * moderation.report, moderation.reports, moderation.resolve: anyone reports what they can see (one open report per
 * target), the room's moderators list them and act; the act goes through the rooms' and messages' own services
 * (rank, permissions, audit), and closes every open report about the same target in the room.
 */
describe.each(databaseKinds)("reports on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const api = (user: UserPublic) => callerFor(deps.services, user.id);

  const roomWith = (owner: UserPublic, ...others: [UserPublic, MemberRole][]): Promise<Room> => roomWithRoles(deps, owner, "public", others);

  const send = async (user: UserPublic, room: Room, body: string) =>
    (await deps.services.messages.send(user.id, { roomId: room.id, clientMsgId: `r-${token()}`, body })).message;

  const members = async (room: Room, reader: UserPublic): Promise<string[]> =>
    (await deps.services.rooms.members(reader.id, { roomId: room.id, limit: 200 })).items.map((member) => member.user.id);

  describe("report", () => {
    it("files a message report in the message's room, listed for its moderators with reporter, sender and an excerpt", async () => {
      const [owner, mod, ann, troll] = await createUsers(deps, 4);
      const room = await roomWith(owner, [mod, "moderator"], [ann, "member"], [troll, "member"]);
      const message = await send(troll, room, "buy cheap watches");
      const { reportId } = await api(ann).moderation.report({ messageId: message.id, reason: "spam", note: "third time today" });
      const { items, nextCursor } = await api(mod).moderation.reports({ roomId: room.id, limit: 10 });
      expect(nextCursor).toBeNull();
      expect(items).toEqual([
        {
          id: reportId,
          roomId: room.id,
          reporter: ann,
          target: { user: troll, message: { id: message.id, sender: troll, excerpt: "buy cheap watches", deleted: false } },
          reason: "spam",
          note: "third time today",
          status: "open",
          resolution: null,
          createdAt: expect.any(String),
        },
      ]);
    });

    it("allows one open report per reporter and target (CONFLICT), and never about yourself", async () => {
      const [owner, ann, troll] = await createUsers(deps, 3);
      const room = await roomWith(owner, [ann, "member"], [troll, "member"]);
      const message = await send(troll, room, "spam");
      await api(ann).moderation.report({ messageId: message.id, reason: "spam" });
      expect(await trpcError(api(ann).moderation.report({ messageId: message.id, reason: "other" }))).toMatchObject({
        code: "CONFLICT",
        message: "you already reported this",
      });
      // The person is another target than their message.
      await api(ann).moderation.report({ userId: troll.id, roomId: room.id, reason: "harassment" });
      expect(await trpcError(api(ann).moderation.report({ userId: troll.id, reason: "harassment" }))).toMatchObject({ code: "CONFLICT" });
      const mine = await send(ann, room, "mine");
      expect(await trpcError(api(ann).moderation.report({ messageId: mine.id, reason: "spam" }))).toMatchObject({ code: "BAD_REQUEST", message: "you cannot report yourself" });
      expect(await trpcError(api(ann).moderation.report({ userId: ann.id, reason: "spam" }))).toMatchObject({ code: "BAD_REQUEST", message: "you cannot report yourself" });
    });

    it("needs the reporter to see the message, or to be in the room named; without a room it is for the operator only", async () => {
      const [owner, troll, outsider] = await createUsers(deps, 3);
      const room = await roomWith(owner, [troll, "member"]);
      const message = await send(troll, room, "hidden from outsiders");
      expect(await trpcError(api(outsider).moderation.report({ messageId: message.id, reason: "spam" }))).toMatchObject(NOT_A_MEMBER);
      expect(await trpcError(api(outsider).moderation.report({ userId: troll.id, roomId: room.id, reason: "spam" }))).toMatchObject(NOT_A_MEMBER);
      expect(await trpcError(api(outsider).moderation.report({ messageId: crypto.randomUUID(), reason: "spam" }))).toMatchObject({ code: "NOT_FOUND" });
      expect(await trpcError(api(outsider).moderation.report({ userId: crypto.randomUUID(), reason: "spam" }))).toMatchObject({ code: "NOT_FOUND" });
      const other = await roomWith(owner, [troll, "member"]);
      expect(await trpcError(api(troll).moderation.report({ messageId: (await send(owner, room, "x")).id, roomId: other.id, reason: "spam" }))).toMatchObject({
        code: "BAD_REQUEST",
      });
      const { reportId } = await api(outsider).moderation.report({ userId: troll.id, reason: "hate" });
      const [stored] = await deps.database.db.select({ roomId: reports.roomId }).from(reports).where(eq(reports.id, reportId));
      expect(stored).toEqual({ roomId: null });
      expect((await api(owner).moderation.reports({ roomId: room.id, limit: 10 })).items).toEqual([]);
      expect(await trpcError(api(owner).moderation.resolve({ reportId, action: "dismiss" }))).toMatchObject({ code: "NOT_FOUND" });
    });

    it("refuses bad input: both or neither target, unknown reasons, notes over 1000 characters", async () => {
      const [ann] = await createUsers(deps, 1);
      const report = (input: Record<string, unknown>) => api(ann).moderation.report(input as never);
      expect(await inputIssues(report({ reason: "spam" }))).toEqual(["report exactly one of messageId, userId"]);
      expect(await inputIssues(report({ reason: "spam", userId: crypto.randomUUID(), messageId: crypto.randomUUID() }))).toEqual([
        "report exactly one of messageId, userId",
      ]);
      expect((await inputIssues(report({ reason: "boring", userId: crypto.randomUUID() }))).length).toBe(1);
      expect(await inputIssues(report({ reason: "other", userId: crypto.randomUUID(), note: "n".repeat(1001) }))).toEqual([
        "note must be at most 1000 characters",
      ]);
    });
  });

  describe("reports", () => {
    it("are for moderators and up, newest first in pages, open or resolved", async () => {
      const [owner, mod, ann, bob, cat, troll] = await createUsers(deps, 6);
      const room = await roomWith(owner, [mod, "moderator"], [ann, "member"], [bob, "member"], [cat, "member"], [troll, "member"]);
      const message = await send(troll, room, "bad");
      const ids: string[] = [];
      for (const reporter of [ann, bob, cat]) ids.push((await api(reporter).moderation.report({ messageId: message.id, reason: "spam" })).reportId);
      const first = await api(mod).moderation.reports({ roomId: room.id, limit: 2 });
      expect(first.items.map((report) => report.id)).toEqual([ids[2], ids[1]]);
      const second = await api(mod).moderation.reports({ roomId: room.id, limit: 2, cursor: first.nextCursor ?? undefined });
      expect(second.items.map((report) => report.id)).toEqual([ids[0]]);
      expect(second.nextCursor).toBeNull();
      expect((await api(mod).moderation.reports({ roomId: room.id, status: "resolved", limit: 10 })).items).toEqual([]);
      expect(await trpcError(api(ann).moderation.reports({ roomId: room.id, limit: 10 }))).toMatchObject({
        code: "FORBIDDEN",
        message: "only owners, admins and moderators can handle reports",
      });
    });
  });

  describe("resolve", () => {
    it("deletes the message as a moderator, resolves every open report about it, and audits both acts", async () => {
      const [owner, mod, ann, bob, troll] = await createUsers(deps, 5);
      const room = await roomWith(owner, [mod, "moderator"], [ann, "member"], [bob, "member"], [troll, "member"]);
      const message = await send(troll, room, "delete me");
      const { reportId } = await api(ann).moderation.report({ messageId: message.id, reason: "hate" });
      const other = await api(bob).moderation.report({ messageId: message.id, reason: "spam" });
      const result = await api(mod).moderation.resolve({ reportId, action: "delete" });
      expect(result.reportIds.toSorted()).toEqual([reportId, other.reportId].toSorted());
      const [gone] = (await api(owner).messages.list({ roomId: room.id, limit: 10 })).messages.filter((listed) => listed.id === message.id);
      expect(gone).toMatchObject({ body: "", deletedAt: expect.any(String) });
      const resolved = await api(mod).moderation.reports({ roomId: room.id, status: "resolved", limit: 10 });
      expect(resolved.items.map((report) => [report.status, report.resolution?.action, report.resolution?.byUserId])).toEqual([
        ["resolved", "delete", mod.id],
        ["resolved", "delete", mod.id],
      ]);
      expect(resolved.items[0]?.target.message).toEqual({ id: message.id, sender: troll, excerpt: null, deleted: true });
      const audit = (await api(owner).rooms.auditLog({ roomId: room.id, limit: 10 })).items;
      expect(audit.map((entry) => entry.action)).toEqual(["report.resolved", "message.deleted"]);
      expect(audit[0]).toMatchObject({ actor: mod, target: { user: troll, messageId: message.id }, seq: null, data: { resolution: "delete" } });
      expect(await trpcError(api(mod).moderation.resolve({ reportId, action: "dismiss" }))).toMatchObject({
        code: "CONFLICT",
        message: "this report is already resolved",
      });
    });

    it("mutes, bans or kicks the reported person through rooms.mute, rooms.ban and rooms.kick", async () => {
      const [owner, mod, ann, muted, banned, kicked] = await createUsers(deps, 6);
      const room = await roomWith(owner, [mod, "moderator"], [ann, "member"], [muted, "member"], [banned, "member"], [kicked, "member"]);
      const report = async (target: UserPublic) => (await api(ann).moderation.report({ userId: target.id, roomId: room.id, reason: "harassment" })).reportId;
      await api(mod).moderation.resolve({ reportId: await report(muted), action: "mute", durationSeconds: 600 });
      await api(mod).moderation.resolve({ reportId: await report(banned), action: "ban" });
      await api(mod).moderation.resolve({ reportId: await report(kicked), action: "kick" });
      expect((await api(mod).rooms.mutes({ roomId: room.id, limit: 10 })).items.map((mute) => mute.user.id)).toEqual([muted.id]);
      expect((await api(mod).rooms.bans({ roomId: room.id, limit: 10 })).items.map((ban) => ban.user.id)).toEqual([banned.id]);
      expect(await members(room, owner)).not.toEqual(expect.arrayContaining([banned.id]));
      expect(await members(room, owner)).not.toEqual(expect.arrayContaining([kicked.id]));
      expect((await domainError(deps.services.rooms.join(banned.id, room.id))).reason).toBe("BANNED");
      await deps.services.rooms.join(kicked.id, room.id);
      const actions = (await api(owner).rooms.auditLog({ roomId: room.id, limit: 20 })).items.map((entry) => entry.action);
      expect(actions).toEqual(["report.resolved", "member.kicked", "report.resolved", "member.banned", "report.resolved", "member.muted"]);
    });

    it("keeps the rank rule and the permission table: the report stays open when the act is refused", async () => {
      const [owner, mod, otherMod, ann] = await createUsers(deps, 4);
      const room = await roomWith(owner, [mod, "moderator"], [otherMod, "moderator"], [ann, "member"]);
      const { reportId } = await api(ann).moderation.report({ userId: otherMod.id, roomId: room.id, reason: "other" });
      expect(await trpcError(api(mod).moderation.resolve({ reportId, action: "ban" }))).toMatchObject({ code: "FORBIDDEN", message: "moderators cannot ban moderators" });
      expect(await trpcError(api(ann).moderation.resolve({ reportId, action: "dismiss" }))).toMatchObject({ code: "FORBIDDEN" });
      expect(await trpcError(api(mod).moderation.resolve({ reportId, action: "delete" }))).toMatchObject({ code: "BAD_REQUEST" });
      expect(await trpcError(api(mod).moderation.resolve({ reportId: crypto.randomUUID(), action: "dismiss" }))).toMatchObject({ code: "NOT_FOUND" });
      expect((await api(mod).moderation.reports({ roomId: room.id, limit: 10 })).items.map((report) => report.id)).toEqual([reportId]);
      await api(owner).moderation.resolve({ reportId, action: "dismiss" });
      expect(await members(room, owner)).toContain(otherMod.id);
      expect((await api(owner).rooms.auditLog({ roomId: room.id, limit: 10 })).items).toEqual([
        expect.objectContaining({ action: "report.resolved", actor: owner, target: { user: otherMod }, data: { resolution: "dismiss", reportIds: [reportId] } }),
      ]);
    });
  });
});

describe.each(databaseKinds)("report rate on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind, { rateLimits: { reportPerUser: { capacity: 2, periodSeconds: 600 } } });
  });
  afterAll(async () => {
    await deps?.close();
  });

  it("limits reports per reporter", async () => {
    const [ann, a, b, c] = await createUsers(deps, 4);
    await deps.services.moderation.report(ann.id, { userId: a.id, reason: "spam" });
    await deps.services.moderation.report(ann.id, { userId: b.id, reason: "spam" });
    const refused = await domainError(deps.services.moderation.report(ann.id, { userId: c.id, reason: "spam" }));
    expect(refused).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
  });
});
