import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthSession, IssuedTokens, RequestMeta } from "../../src/domain/auth/auth.schema.ts";
import type { MemberRole, Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { files, friendRequests, friendships, jobs, roomInvitations, roomMembers, rooms, userBlocks, users } from "../../src/infra/db/schema.ts";
import { createCaller } from "../../src/transport/trpc/app-router.ts";
import { createInnerContext } from "../../src/transport/trpc/context.ts";
import { databaseKinds } from "../support/databases.ts";
import { uniqueUsername } from "../support/factories.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, token } from "./room-fixtures.ts";
import { callerFor, inputIssues, trpcError } from "./trpc-calls.ts";

const PASSWORD = "a long enough passphrase";
const META: RequestMeta = { ip: "203.0.113.7", userAgent: "Firefox" };

/** A registered account (a real password) signed in on one device. */
interface Account {
  user: UserPublic;
  username: string;
  tokens: IssuedTokens;
  session: AuthSession;
  api: ReturnType<typeof createCaller>;
}

/**
 * auth.deleteAccount: who may, what is left of the account (a tombstone, so messages keep a sender), and what it
 * leaves behind — rooms (with their ownership), friends, requests, blocks, invitations, sessions.
 */
describe.each(databaseKinds)("account deletion on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  async function register(services = deps.services): Promise<Account> {
    const username = uniqueUsername("leaver");
    const tokens = await services.auth.register({ email: `${username}@example.test`, username, password: PASSWORD, refreshTokenIn: "body" }, META);
    const session = await services.auth.verifyAccessToken(tokens.accessToken);
    const { id, displayName } = tokens.user;
    return { user: { id, username, displayName }, username, tokens, session, api: createCaller(createInnerContext({ services, session, meta: META })) };
  }

  /** A private room of `owner` with each other member given a role, in the order they joined (one second apart). */
  async function roomWith(owner: UserPublic, ...others: [UserPublic, MemberRole][]): Promise<Room> {
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "private" });
    let joinedAt = Date.now();
    for (const [user, role] of others) {
      joinedAt += 1000;
      await deps.database.db.insert(roomMembers).values({ roomId: room.id, userId: user.id, role, joinedAt: new Date(joinedAt) });
    }
    return deps.services.rooms.get(owner.id, room.id);
  }

  async function rolesIn(roomId: string): Promise<Record<string, MemberRole>> {
    const rows = await deps.database.db.select({ userId: roomMembers.userId, role: roomMembers.role }).from(roomMembers).where(eq(roomMembers.roomId, roomId));
    return Object.fromEntries(rows.map((row) => [row.userId, row.role]));
  }

  it("refuses a wrong password (UNAUTHORIZED) and changes nothing; input is a strict object", async () => {
    const account = await register();
    expect(await trpcError(account.api.auth.deleteAccount({ password: "not my password" }))).toMatchObject({ code: "UNAUTHORIZED", message: "wrong password" });
    await expect(deps.services.auth.verifyAccessToken(account.tokens.accessToken)).resolves.toEqual(account.session);
    expect((await callerFor(deps.services, account.user.id).users.get({ userId: account.user.id })).deleted).toBe(false);
    expect(await inputIssues(account.api.auth.deleteAccount({ password: "" }))).not.toEqual([]);
    expect(await inputIssues(account.api.auth.deleteAccount({ password: PASSWORD, confirm: true } as never))).not.toEqual([]);
  });

  it("counts wrong passwords like failed logins: past the limit even the right one is TOO_MANY_REQUESTS", async () => {
    const limited = await createTestDeps(kind, { rateLimits: { authPerAccountIp: { capacity: 2, periodSeconds: 900 } } });
    try {
      const account = await register(limited.services);
      for (let attempt = 0; attempt < 2; attempt++) {
        expect((await trpcError(account.api.auth.deleteAccount({ password: "guess" }))).code).toBe("UNAUTHORIZED");
      }
      expect((await trpcError(account.api.auth.deleteAccount({ password: PASSWORD }))).code).toBe("TOO_MANY_REQUESTS");
      // The same buckets as a login from that address.
      const login = limited.services.auth.login({ login: account.username, password: PASSWORD, refreshTokenIn: "body" }, META);
      await expect(login).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });
    } finally {
      await limited.close();
    }
  });

  it("leaves a tombstone: placeholder names, no profile, no way in; every session ends and its sockets are told", async () => {
    const account = await register();
    await account.api.users.updateMe({ bio: "about me", status: { text: "here", emoji: "🙂" }, timezone: "Europe/Paris" });
    const second = await deps.services.auth.login({ login: account.username, password: PASSWORD, refreshTokenIn: "body" }, META);
    const secondSession = await deps.services.auth.verifyAccessToken(second.accessToken);
    const events = await deps.recordEvents({ userId: account.user.id });
    const [viewer] = await createUsers(deps, 1);

    expect(await account.api.auth.deleteAccount({ password: PASSWORD })).toEqual({ deleted: true });

    const profile = await callerFor(deps.services, viewer.id).users.get({ userId: account.user.id });
    expect(profile).toEqual({
      id: account.user.id,
      username: `deleted-${account.user.id}`,
      displayName: "Deleted user",
      bio: "",
      status: null,
      timezone: null,
      deleted: true,
      avatarFileId: null,
    });
    const [row] = await deps.database.db.select().from(users).where(eq(users.id, account.user.id));
    expect(row).toMatchObject({ email: `deleted+${account.user.id}@invalid`, emailVerifiedAt: null, deletedAt: expect.any(Date) });
    expect(row?.passwordHash.startsWith("$argon2")).toBe(false);

    for (const tokens of [account.tokens, second]) {
      await expect(deps.services.auth.verifyAccessToken(tokens.accessToken)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
      await expect(deps.services.auth.refresh(tokens.refreshToken, META)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    }
    for (const login of [account.username, `${account.username}@example.test`, `deleted-${account.user.id}`]) {
      await expect(deps.services.auth.login({ login, password: PASSWORD, refreshTokenIn: "body" }, META)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    }
    await settle();
    const revoked = events.flatMap((event) => (event.type === "session.revoked" ? [event.sessionId] : []));
    expect(revoked.sort()).toEqual([account.session.sessionId, secondSession.sessionId].sort());
    // Search never shows it; its old name and email are free to register again.
    expect(await callerFor(deps.services, viewer.id).users.search({ query: "deleted" })).not.toContainEqual(expect.objectContaining({ id: account.user.id }));
    await expect(
      deps.services.auth.register({ email: `${account.username}@example.test`, username: account.username, password: PASSWORD, refreshTokenIn: "body" }, META),
    ).resolves.toMatchObject({ user: { username: account.username } });
  });

  it("drops friendships, friend requests, blocks both ways and invitations, and tells the friends", async () => {
    const account = await register();
    const [friend, asker, asked, blocker, blocked] = await createUsers(deps, 5);
    await deps.database.db.insert(friendships).values([
      { userId: account.user.id, friendId: friend.id },
      { userId: friend.id, friendId: account.user.id },
    ]);
    await deps.database.db.insert(friendRequests).values([
      { fromUserId: asker.id, toUserId: account.user.id },
      { fromUserId: account.user.id, toUserId: asked.id },
    ]);
    await deps.database.db.insert(userBlocks).values([
      { blockerId: blocker.id, blockedId: account.user.id },
      { blockerId: account.user.id, blockedId: blocked.id },
    ]);
    const room = await deps.services.rooms.create(friend.id, { name: token(), kind: "private" });
    await deps.database.db.insert(roomInvitations).values({ roomId: room.id, inviteeId: account.user.id, inviterId: friend.id });
    const friendEvents = await deps.recordEvents({ userId: friend.id });
    const blockerEvents = await deps.recordEvents({ userId: blocker.id });

    await account.api.auth.deleteAccount({ password: PASSWORD });

    expect((await callerFor(deps.services, friend.id).friends.list()).items).toEqual([]);
    expect(await callerFor(deps.services, asker.id).friends.requests()).toEqual({ incoming: [], outgoing: [] });
    expect(await callerFor(deps.services, asked.id).friends.requests()).toEqual({ incoming: [], outgoing: [] });
    expect(await deps.database.db.select().from(userBlocks).where(eq(userBlocks.blockerId, blocker.id))).toEqual([]);
    expect(await deps.database.db.select().from(userBlocks).where(eq(userBlocks.blockerId, account.user.id))).toEqual([]);
    expect(await deps.database.db.select().from(roomInvitations).where(eq(roomInvitations.inviteeId, account.user.id))).toEqual([]);
    // Nobody can befriend or be asked by it any more.
    expect(await trpcError(callerFor(deps.services, friend.id).friends.request({ userId: account.user.id }))).toMatchObject({ code: "NOT_FOUND" });
    await settle();
    expect(friendEvents).toContainEqual({ type: "friend.updated", userId: account.user.id, state: "none" });
    expect(blockerEvents).toContainEqual({ type: "block.updated", userId: account.user.id, blocked: false });
  });

  it("leaves every room: the last owner hands over to the longest-standing admin, else moderator, else member; its messages stay", async () => {
    const account = await register();
    const [admin1, admin2, mod, member, onlyMember] = await createUsers(deps, 5);
    const withAdmins = await roomWith(account.user, [mod, "moderator"], [admin1, "admin"], [admin2, "admin"]);
    const withMembers = await roomWith(account.user, [member, "member"], [onlyMember, "member"]);
    // Rank before seniority: the moderator who joined after the member inherits.
    const withModerator = await roomWith(account.user, [onlyMember, "member"], [mod, "moderator"]);
    const coOwned = await roomWith(account.user, [admin1, "owner"], [mod, "moderator"]);
    const alone = await roomWith(account.user);
    const sent = await deps.services.messages.send(account.user.id, { roomId: withAdmins.id, clientMsgId: "before-deletion-0001", body: "hello all" });
    const roomEvents = await deps.recordEvents({ roomId: withAdmins.id });

    await account.api.auth.deleteAccount({ password: PASSWORD });

    expect(await rolesIn(withAdmins.id)).toEqual({ [mod.id]: "moderator", [admin1.id]: "owner", [admin2.id]: "admin" });
    expect(await rolesIn(withMembers.id)).toEqual({ [member.id]: "owner", [onlyMember.id]: "member" });
    expect(await rolesIn(withModerator.id)).toEqual({ [onlyMember.id]: "member", [mod.id]: "owner" });
    // Another owner remains: nobody is promoted.
    expect(await rolesIn(coOwned.id)).toEqual({ [admin1.id]: "owner", [mod.id]: "moderator" });
    // The last member out deletes the room.
    expect(await deps.database.db.select().from(rooms).where(eq(rooms.id, alone.id))).toEqual([]);

    await settle();
    const seq = sent.message.seq;
    expect(roomEvents).toEqual([
      { type: "member.role", roomId: withAdmins.id, seq: seq + 1, userId: admin1.id, role: "owner", byUserId: account.user.id },
      { type: "member.left", roomId: withAdmins.id, seq: seq + 2, userId: account.user.id, reason: "left" },
    ]);
    const audit = await callerFor(deps.services, admin1.id).rooms.auditLog({ roomId: withAdmins.id });
    expect(audit.items[0]).toMatchObject({
      action: "ownership.transferred",
      actor: { id: account.user.id, displayName: "Deleted user" },
      target: { user: { id: admin1.id } },
      data: { from: "admin" },
      reason: "account deleted",
      seq: seq + 1,
    });
    // Its message is still there with its body, from "Deleted user", for the room to read.
    const { messages } = await callerFor(deps.services, admin1.id).messages.list({ roomId: withAdmins.id, limit: 10 });
    expect(messages.find((message) => message.id === sent.message.id)).toMatchObject({
      body: "hello all",
      sender: { id: account.user.id, username: `deleted-${account.user.id}`, displayName: "Deleted user" },
    });
  });

  it("leaves its direct rooms; the other side keeps the conversation", async () => {
    const account = await register();
    const [other] = await createUsers(deps, 1);
    const direct = await deps.services.rooms.openDirect(account.user.id, other.id);
    await deps.services.messages.send(other.id, { roomId: direct.id, clientMsgId: "dm-before-0001", body: "hi" });

    await account.api.auth.deleteAccount({ password: PASSWORD });

    expect(await rolesIn(direct.id)).toEqual({ [other.id]: "member" });
    const { messages } = await callerFor(deps.services, other.id).messages.list({ roomId: direct.id, limit: 10 });
    expect(messages.map((message) => message.body)).toEqual(["hi"]);
    const members = await deps.database.db
      .select()
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, direct.id), eq(roomMembers.userId, account.user.id)));
    expect(members).toEqual([]);
  });
  it("retires the files that were only theirs (uploads never sent) through the outbox, and keeps those sent with messages", async () => {
    const account = await register();
    const [stayer] = await createUsers(deps, 1);
    const room = await roomWith(account.user, [stayer, "member"]); // the room outlives the account
    const upload = (filename: string) =>
      deps.services.files.createUpload(account.user.id, { purpose: "attachment", roomId: room.id, filename, contentType: "application/pdf", size: 100 });
    const unsent = await upload("unsent.pdf");
    const sent = await upload("sent.pdf");
    await deps.database.db.update(files).set({ status: "ready" }).where(eq(files.id, sent.fileId));
    await deps.services.messages.send(account.user.id, { roomId: room.id, clientMsgId: token(), body: "", attachments: [sent.fileId] });

    await account.api.auth.deleteAccount({ password: PASSWORD });
    const statuses = await deps.database.db.select({ id: files.id, status: files.status }).from(files).where(eq(files.ownerId, account.user.id));
    expect(Object.fromEntries(statuses.map((row) => [row.id, row.status]))).toEqual({ [unsent.fileId]: "deleted", [sent.fileId]: "ready" });
    const [job] = await deps.database.db.select().from(jobs).where(eq(jobs.idempotencyKey, `files.deleteObjects:account:${account.user.id}`));
    expect(job?.payload).toEqual({ keys: [`files/${unsent.fileId}`] });
  });

  it("retires a room's files with the room when its last member leaves", async () => {
    const account = await register();
    const room = await deps.services.rooms.create(account.user.id, { name: token(), kind: "private" });
    const { fileId } = await deps.services.files.createUpload(account.user.id, {
      purpose: "attachment",
      roomId: room.id,
      filename: "left.pdf",
      contentType: "application/pdf",
      size: 100,
    });
    await account.api.auth.deleteAccount({ password: PASSWORD });
    expect(await deps.database.db.select().from(rooms).where(eq(rooms.id, room.id))).toEqual([]);
    const [job] = await deps.database.db.select().from(jobs).where(eq(jobs.idempotencyKey, `files.deleteObjects:room:${room.id}`));
    expect(job?.payload).toEqual({ keys: [`files/${fileId}`] });
  });
});
