import { and, eq, or } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import { createBlockService } from "../../src/domain/users/blocks.service.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { friendRequests, friendships, roomInvitations, userBlocks } from "../../src/infra/db/schema.ts";
import { createMemoryRateLimiter } from "../../src/infra/rate-limit/memory.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, setRole, token } from "./room-fixtures.ts";
import { callerFor, domainError, inputIssues, trpcError } from "./trpc-calls.ts";

/**
 * users.block, users.unblock, users.blocked and what a block does (README "Blocking"): what it removes between
 * the two, what it tells whom, whose presence neither sees, and how the blocker reads the blocked user's messages
 * (flagged, never counted as unread or as mentions). The send and DM refusals are specified with the send gate and
 * rooms.openDirect.
 */
describe.each(databaseKinds)("blocking on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const api = (user: UserPublic) => callerFor(deps.services, user.id);

  /** A public room of `owner` that the others joined. */
  async function sharedRoom(owner: UserPublic, ...others: UserPublic[]): Promise<Room> {
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
    for (const user of others) await deps.services.rooms.join(user.id, room.id);
    return deps.services.rooms.get(owner.id, room.id);
  }

  async function send(user: UserPublic, roomId: string, body: string, extra: { threadRootId?: string } = {}) {
    const { message } = await deps.services.messages.send(user.id, { roomId, clientMsgId: token(), body, ...extra });
    return message;
  }

  describe("users.block, users.blocked, users.unblock", () => {
    it("lists whom I blocked, most recent first with when, a page at a time", async () => {
      const [me, ann, bob, cat] = await createUsers(deps, 4);
      for (const user of [ann, bob, cat]) await api(me).users.block({ userId: user.id });
      const first = await api(me).users.blocked({ limit: 2 });
      expect(first.items.map((item) => item.user)).toEqual([cat, bob]);
      expect(first.items[0]?.blockedAt).toEqual(expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/));
      expect(first.nextCursor).not.toBeNull();
      const second = await api(me).users.blocked({ limit: 2, cursor: first.nextCursor ?? undefined });
      expect(second).toEqual({ items: [{ user: ann, blockedAt: expect.any(String) }], nextCursor: null });
      // Only mine: whom others blocked is not in my list, nor am I in theirs for being blocked.
      expect((await api(ann).users.blocked({})).items).toEqual([]);
    });

    it("is idempotent: blocking again keeps the first time and announces nothing", async () => {
      const [me, ann] = await createUsers(deps, 2);
      await api(me).users.block({ userId: ann.id });
      const [before] = (await api(me).users.blocked({})).items;
      const mine = await deps.recordEvents({ userId: me.id });
      const theirs = await deps.recordEvents({ userId: ann.id });
      await api(me).users.block({ userId: ann.id });
      await settle();
      expect((await api(me).users.blocked({})).items).toEqual([before]);
      expect([...mine, ...theirs]).toEqual([]);
    });

    it("unblocks: gone from the list; unblocking again, or someone never blocked, is NOT_FOUND", async () => {
      const [me, ann, bob] = await createUsers(deps, 3);
      await api(me).users.block({ userId: ann.id });
      await api(me).users.unblock({ userId: ann.id });
      expect((await api(me).users.blocked({})).items).toEqual([]);
      for (const userId of [ann.id, bob.id]) {
        expect(await trpcError(api(me).users.unblock({ userId }))).toMatchObject({ code: "NOT_FOUND", message: "you have not blocked this user" });
      }
    });

    it("refuses blocking myself (BAD_REQUEST) and an unknown user (NOT_FOUND), and input that is not an id or a cursor", async () => {
      const [me] = await createUsers(deps, 1);
      expect(await trpcError(api(me).users.block({ userId: me.id }))).toMatchObject({ code: "BAD_REQUEST", message: "you cannot block yourself" });
      expect(await trpcError(api(me).users.block({ userId: crypto.randomUUID() }))).toMatchObject({ code: "NOT_FOUND", message: "no such user" });
      expect(await inputIssues(api(me).users.block({ userId: "nope" }))).toHaveLength(1);
      expect(await inputIssues(api(me).users.unblock({ userId: "nope" }))).toHaveLength(1);
      expect(await inputIssues(api(me).users.blocked({ cursor: "garbage" }))).toEqual(["invalid cursor"]);
      expect(await inputIssues(api(me).users.blocked({ limit: 201 }))).toHaveLength(1);
      expect((await api(me).users.blocked({})).items).toEqual([]);
    });

    it("is rate-limited per user (TOO_MANY_REQUESTS with retryAfterSeconds)", async () => {
      const blocks = createBlockService({
        database: deps.database,
        events: { toRoom: async () => {}, toUser: async () => {}, toInstances: async () => {} },
        rateLimiter: createMemoryRateLimiter({ clock: deps.clock }),
        logger: createLogger({ level: "silent" }),
        blockRate: { capacity: 2, periodSeconds: 600 },
      });
      const [me, ann, bob, cat] = await createUsers(deps, 4);
      await blocks.block(me.id, ann.id);
      await blocks.block(me.id, bob.id);
      const refused = await domainError(blocks.block(me.id, cat.id));
      expect(refused).toMatchObject({ code: "TOO_MANY_REQUESTS" });
      expect(refused.retryAfterSeconds).toBeGreaterThan(0);
      // Another user's budget is their own.
      await blocks.block(cat.id, me.id);
    });
  });

  describe("what a block removes between the two, in its transaction", () => {
    it("drops our friendship and friend requests both ways, and pending invitations either of us sent the other — nothing else", async () => {
      const [me, ann, other] = await createUsers(deps, 3);
      const { db } = deps.database;
      const mine = await deps.services.rooms.create(me.id, { name: token(), kind: "private" });
      const theirs = await deps.services.rooms.create(ann.id, { name: token(), kind: "private" });
      await db.insert(friendships).values([
        { userId: me.id, friendId: ann.id },
        { userId: ann.id, friendId: me.id },
        { userId: me.id, friendId: other.id },
        { userId: other.id, friendId: me.id },
      ]);
      await db.insert(friendRequests).values([
        { fromUserId: me.id, toUserId: ann.id },
        { fromUserId: ann.id, toUserId: me.id },
        { fromUserId: other.id, toUserId: ann.id },
      ]);
      const [toAnn, toMe] = await db
        .insert(roomInvitations)
        .values([
          { roomId: mine.id, inviterId: me.id, inviteeId: ann.id },
          { roomId: theirs.id, inviterId: ann.id, inviteeId: me.id },
          { roomId: mine.id, inviterId: me.id, inviteeId: other.id },
        ])
        .returning({ id: roomInvitations.id });
      const annHears = await deps.recordEvents({ userId: ann.id });
      const iHear = await deps.recordEvents({ userId: me.id });
      await api(me).users.block({ userId: ann.id });
      await settle();
      // Each invitee's devices drop the withdrawn invitation, as they do a cancelled one.
      expect(annHears).toContainEqual({ type: "invitation.removed", invitationId: toAnn?.id, reason: "cancelled" });
      expect(iHear).toContainEqual({ type: "invitation.removed", invitationId: toMe?.id, reason: "cancelled" });
      expect(
        await db
          .select({ userId: friendships.userId, friendId: friendships.friendId })
          .from(friendships)
          .where(or(eq(friendships.userId, me.id), eq(friendships.friendId, me.id), eq(friendships.userId, ann.id))),
      ).toEqual(expect.arrayContaining([{ userId: me.id, friendId: other.id }, { userId: other.id, friendId: me.id }]));
      expect(await db.select().from(friendships).where(or(eq(friendships.userId, ann.id), eq(friendships.friendId, ann.id)))).toEqual([]);
      expect(
        await db
          .select({ from: friendRequests.fromUserId, to: friendRequests.toUserId })
          .from(friendRequests)
          .where(or(eq(friendRequests.fromUserId, ann.id), eq(friendRequests.toUserId, ann.id))),
      ).toEqual([{ from: other.id, to: ann.id }]);
      expect(
        await db
          .select({ roomId: roomInvitations.roomId, inviteeId: roomInvitations.inviteeId })
          .from(roomInvitations)
          .where(or(eq(roomInvitations.roomId, mine.id), eq(roomInvitations.roomId, theirs.id))),
      ).toEqual([{ roomId: mine.id, inviteeId: other.id }]);
      // Unblocking brings none of it back.
      await api(me).users.unblock({ userId: ann.id });
      expect(await db.select().from(friendships).where(and(eq(friendships.userId, me.id), eq(friendships.friendId, ann.id)))).toEqual([]);
    });

    it("removes nothing when the user does not exist (the block is refused whole)", async () => {
      const [me] = await createUsers(deps, 1);
      await domainError(deps.services.blocks.block(me.id, crypto.randomUUID()));
      expect(await deps.database.db.select().from(userBlocks).where(eq(userBlocks.blockerId, me.id))).toEqual([]);
    });
  });

  describe("who is told", () => {
    it("tells all my devices (block.updated) and the other side's realtime layer (blocks.changed, naming nobody)", async () => {
      const [me, ann] = await createUsers(deps, 2);
      const mine = await deps.recordEvents({ userId: me.id });
      const theirs = await deps.recordEvents({ userId: ann.id });
      await api(me).users.block({ userId: ann.id });
      await api(me).users.unblock({ userId: ann.id });
      await settle();
      expect(mine).toEqual([
        { type: "block.updated", userId: ann.id, blocked: true },
        { type: "block.updated", userId: ann.id, blocked: false },
      ]);
      expect(theirs).toEqual([{ type: "blocks.changed" }, { type: "blocks.changed" }]);
    });

    it("hides presence and typing both ways: each side's hidden set names the other while either block stands", async () => {
      const [me, ann, bob] = await createUsers(deps, 3);
      await api(me).users.block({ userId: ann.id });
      await api(bob).users.block({ userId: me.id });
      expect(await deps.services.blocks.hiddenFrom(me.id)).toEqual(new Set([ann.id, bob.id]));
      expect(await deps.services.blocks.hiddenFrom(ann.id)).toEqual(new Set([me.id]));
      await api(ann).users.block({ userId: me.id });
      await api(me).users.unblock({ userId: ann.id });
      // Ann's own block of me still stands.
      expect(await deps.services.blocks.hiddenFrom(me.id)).toEqual(new Set([ann.id, bob.id]));
      await api(ann).users.unblock({ userId: me.id });
      expect(await deps.services.blocks.hiddenFrom(ann.id)).toEqual(new Set());
    });

    it("leaves them out of presence.get, both ways, while people we share rooms with stay in", async () => {
      const [me, ann, bob] = await createUsers(deps, 3);
      await sharedRoom(me, ann, bob);
      const everyone = [me.id, ann.id, bob.id];
      const seenBy = async (user: UserPublic) => (await api(user).presence.get({ userIds: everyone })).map((view) => view.userId).sort();
      expect(await seenBy(me)).toEqual([...everyone].sort());
      await api(me).users.block({ userId: ann.id });
      expect(await seenBy(me)).toEqual([me.id, bob.id].sort());
      expect(await seenBy(ann)).toEqual([ann.id, bob.id].sort());
      expect(await seenBy(bob)).toEqual([...everyone].sort());
      await api(me).users.unblock({ userId: ann.id });
      expect(await seenBy(ann)).toEqual([...everyone].sort());
    });
  });

  describe("their messages in rooms we share", () => {
    it("stay, flagged senderBlocked for me alone in messages.list, thread, search, pinned and rooms.list; unblocking clears it", async () => {
      const [me, ann, bob] = await createUsers(deps, 3);
      const room = await sharedRoom(me, ann, bob);
      const word = token();
      const root = await send(ann, room.id, `root ${word}`);
      await send(bob, room.id, `from bob ${word}`);
      const reply = await send(ann, room.id, `reply ${word}`, { threadRootId: root.id });
      await api(me).messages.pin({ messageId: root.id });
      const last = await send(ann, room.id, `last ${word}`);
      await api(me).users.block({ userId: ann.id });

      const list = await api(me).messages.list({ roomId: room.id });
      const flagged = (messages: { sender: UserPublic; senderBlocked?: true }[]) =>
        messages.map((message) => [message.sender.id, message.senderBlocked ?? false]);
      expect(flagged(list.messages)).toEqual([
        [ann.id, true],
        [bob.id, false],
        [ann.id, true],
      ]);
      const thread = await api(me).messages.thread({ rootId: root.id });
      expect([thread.root.senderBlocked, ...thread.replies.map((message) => message.senderBlocked)]).toEqual([true, true]);
      expect(reply.senderBlocked).toBeUndefined();
      const found = await api(me).messages.search({ query: word, roomId: room.id });
      expect(found.hits.map((hit) => [hit.message.sender.id, hit.message.senderBlocked ?? false]).sort()).toEqual(
        [
          [ann.id, true],
          [ann.id, true],
          [ann.id, true],
          [bob.id, false],
        ].sort(),
      );
      expect((await api(me).messages.pinned({ roomId: room.id })).map((message) => message.senderBlocked)).toEqual([true]);
      const listed = (await api(me).rooms.list()).find((mine) => mine.id === room.id);
      expect(listed?.lastMessage).toMatchObject({ id: last.id, senderBlocked: true });

      // Others, and the blocked user, read them as before: the field is absent, not false.
      for (const reader of [bob, ann]) {
        const theirs = await api(reader).messages.list({ roomId: room.id });
        expect(theirs.messages.every((message) => !("senderBlocked" in message))).toBe(true);
      }
      await api(me).users.unblock({ userId: ann.id });
      expect((await api(me).messages.list({ roomId: room.id })).messages.every((message) => !("senderBlocked" in message))).toBe(true);
    });

    it("raise no unread or mention counts for me, in rooms.list and in markRead's answer; others still count them", async () => {
      const [me, ann, bob] = await createUsers(deps, 3);
      const room = await sharedRoom(me, ann, bob);
      await setRole(deps, room.id, ann.id, "moderator"); // so ann's @room is a mention
      await api(me).users.block({ userId: ann.id });
      const start = (await deps.services.rooms.get(me.id, room.id)).lastSeq;
      await api(me).messages.markRead({ roomId: room.id, seq: start });
      await send(ann, room.id, "one");
      await send(ann, room.id, `@${me.username} look`);
      await send(ann, room.id, "@room everyone");
      const deleted = await send(ann, room.id, "gone soon");
      await api(ann).messages.delete({ messageId: deleted.id });
      await send(bob, room.id, `@${me.username} from bob`);
      const counts = async (user: UserPublic) => {
        const mine = (await api(user).rooms.list()).find((listed) => listed.id === room.id);
        return { unread: mine?.unread, unreadMentions: mine?.unreadMentions };
      };
      expect(await counts(me)).toEqual({ unread: 1, unreadMentions: 1 });
      expect(await api(me).messages.markRead({ roomId: room.id, seq: start })).toMatchObject({ unread: 1, unreadMentions: 1 });
      // Bob, who blocked nobody, counts ann's messages (not the deleted one, not his own).
      await api(bob).messages.markRead({ roomId: room.id, seq: start });
      expect(await counts(bob)).toEqual({ unread: 3, unreadMentions: 1 });
      // Unblocked, ann's messages count again.
      await api(me).users.unblock({ userId: ann.id });
      expect(await counts(me)).toEqual({ unread: 4, unreadMentions: 3 });
    });
  });
});
