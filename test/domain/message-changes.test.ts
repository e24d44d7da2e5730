import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoggedRoomEvent } from "../../src/domain/events.ts";
import { MAX_DISTINCT_EMOJI, MAX_REACTIONS_PER_USER } from "../../src/domain/messages/message-changes.ts";
import type { Message } from "../../src/domain/messages/messages.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { messageEdits, messageMentions, messageReactions, messages } from "../../src/infra/db/schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { logReader } from "../support/room-log.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { createUsers, setRole, token } from "./room-fixtures.ts";
import { callerFor, inputIssues, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

/**
 * Changes after a send — edit, delete, react, unreact, pin, unpin — are room events: each takes the room's next seq
 * with the change to the message, is announced after the commit, and replays like a message. Who may do what, and
 * what happens to the data, is what these specs pin down.
 */
describe.each(databaseKinds)("message changes on %s", (kind) => {
  let deps: TestDeps;
  let owner: UserPublic;
  let ann: UserPublic;
  let bob: UserPublic;
  let outsider: UserPublic;
  let roomId: string;

  beforeAll(async () => {
    deps = await createTestDeps(kind);
    [owner, ann, bob, outsider] = await createUsers(deps, 4);
    ({ id: roomId } = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" }));
    await deps.services.rooms.join(ann.id, roomId);
    await deps.services.rooms.join(bob.id, roomId);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const send = async (user: UserPublic, body: string, room = roomId): Promise<Message> =>
    (await deps.services.messages.send(user.id, { roomId: room, clientMsgId: `c-${token()}`, body })).message;
  const listed = async (user: UserPublic, messageId: string): Promise<Message | undefined> =>
    (await deps.services.messages.list(user.id, { roomId, limit: 100 })).messages.find((message) => message.id === messageId);
  const api = (user: UserPublic) => callerFor(deps.services, user.id);
  const logged = (events: unknown[]): LoggedRoomEvent[] => events.filter((event): event is LoggedRoomEvent => typeof event === "object" && event !== null && "seq" in event);

  describe("edit", () => {
    it("replaces the body for its sender, marks it edited, takes the next seq and tells the room", async () => {
      const message = await send(ann, "frist");
      const events = await deps.recordEvents({ roomId });
      const edited = await api(ann).messages.edit({ messageId: message.id, body: "  first  " });
      expect(edited).toMatchObject({ id: message.id, seq: message.seq, body: "first", editedAt: expect.any(String) });
      expect(await listed(bob, message.id)).toEqual(edited);
      const position = await logReader(deps.services.roomLog).lastSeq(roomId);
      expect(logged(events)).toEqual([{ type: "message.edited", roomId, seq: position, messageId: message.id, message: edited }]);
    });

    it("keeps the replaced bodies for the sender and the room's moderators and up, and no one else", async () => {
      const message = await send(ann, "v1");
      await api(ann).messages.edit({ messageId: message.id, body: "v2" });
      await api(ann).messages.edit({ messageId: message.id, body: "v3" });
      const [moderator] = await createUsers(deps, 1);
      await deps.services.rooms.join(moderator.id, roomId);
      await setRole(deps, roomId, moderator.id, "moderator");
      for (const reader of [ann, owner, moderator]) {
        const { versions } = await api(reader).messages.edits({ messageId: message.id });
        expect(versions.map((version) => [version.version, version.body])).toEqual([[1, "v1"], [2, "v2"]]);
      }
      expect(await trpcError(api(bob).messages.edits({ messageId: message.id }))).toMatchObject({
        code: "FORBIDDEN",
        message: "only owners, admins and moderators can read others' earlier versions of a message",
      });
      expect(await trpcError(api(outsider).messages.edits({ messageId: message.id }))).toMatchObject(NOT_A_MEMBER);
    });

    it("is the sender's alone: another member, even the owner, is refused; an outsider is refused as for reading", async () => {
      const message = await send(ann, "mine");
      expect(await trpcError(api(bob).messages.edit({ messageId: message.id, body: "theirs" }))).toMatchObject({ code: "FORBIDDEN", message: "only its sender can edit a message" });
      expect(await trpcError(api(owner).messages.edit({ messageId: message.id, body: "theirs" }))).toMatchObject({ code: "FORBIDDEN" });
      expect(await trpcError(api(outsider).messages.edit({ messageId: message.id, body: "theirs" }))).toMatchObject(NOT_A_MEMBER);
      expect(await trpcError(api(ann).messages.edit({ messageId: crypto.randomUUID(), body: "x" }))).toMatchObject({ code: "NOT_FOUND" });
      expect((await listed(ann, message.id))?.body).toBe("mine");
    });

    it("changes nothing, and takes no seq, for the same body", async () => {
      const message = await send(ann, "same");
      const before = await logReader(deps.services.roomLog).lastSeq(roomId);
      expect(await api(ann).messages.edit({ messageId: message.id, body: "same" })).toMatchObject({ body: "same", editedAt: null });
      expect(await logReader(deps.services.roomLog).lastSeq(roomId)).toBe(before);
    });

    it("refuses a deleted message", async () => {
      const message = await send(ann, "soon gone");
      await api(ann).messages.delete({ messageId: message.id });
      expect(await trpcError(api(ann).messages.edit({ messageId: message.id, body: "back" }))).toMatchObject({ code: "BAD_REQUEST", message: "a deleted message cannot be edited" });
    });

    it("refuses bad input with BAD_REQUEST", async () => {
      const message = await send(ann, "valid");
      for (const input of [
        { messageId: message.id, body: "" },
        { messageId: message.id, body: "   " },
        { messageId: message.id, body: "x".repeat(4001) },
        { messageId: message.id, body: "bell\u0007" },
        { messageId: "not-an-id", body: "x" },
        { messageId: message.id },
        { messageId: message.id, body: "x", extra: 1 },
      ]) {
        expect((await inputIssues(api(ann).messages.edit(input as never))).length, JSON.stringify(input)).toBeGreaterThan(0);
      }
    });
  });

  describe("the edit window", () => {
    it("refuses edits MESSAGE_EDIT_WINDOW_SECONDS after the send, with reason EDIT_WINDOW", async () => {
      const windowed = await createTestDeps(kind, { messageEditWindowSeconds: 60 });
      try {
        const [sender] = await createUsers(windowed, 1);
        const room = await windowed.services.rooms.create(sender.id, { name: token(), kind: "public" });
        const { message } = await windowed.services.messages.send(sender.id, { roomId: room.id, clientMsgId: `w-${token()}`, body: "quick" });
        windowed.clock.advance(30_000);
        await windowed.services.messageChanges.edit(sender.id, { messageId: message.id, body: "quick fix" });
        windowed.clock.advance(31_000 + Date.now() - Date.parse(message.createdAt));
        const refused = await trpcError(callerFor(windowed.services, sender.id).messages.edit({ messageId: message.id, body: "too late" }));
        expect(refused).toMatchObject({ code: "FORBIDDEN" });
        expect(refused.message).toContain("60 seconds");
      } finally {
        await windowed.close();
      }
    });
  });

  describe("delete", () => {
    it("leaves a tombstone by its sender and really removes the body, its versions, reactions and mentions", async () => {
      const message = await send(ann, `secret @${bob.username}`);
      await api(ann).messages.edit({ messageId: message.id, body: `secret v2 @${bob.username}` });
      await api(bob).messages.react({ messageId: message.id, emoji: "👍" });
      const events = await deps.recordEvents({ roomId });
      const tombstone = await api(ann).messages.delete({ messageId: message.id });
      expect(tombstone).toMatchObject({ id: message.id, body: "", deletedAt: expect.any(String), deletedBy: "sender", reactions: [], mentions: [], editedAt: expect.any(String) });
      expect(logged(events)).toEqual([{ type: "message.deleted", roomId, seq: expect.any(Number), messageId: message.id, message: { ...tombstone, reactions: [] } }]);
      const [row] = await deps.database.db.select({ body: messages.body }).from(messages).where(eq(messages.id, message.id));
      expect(row?.body).toBe("");
      expect(await deps.database.db.select().from(messageEdits).where(eq(messageEdits.messageId, message.id))).toEqual([]);
      expect(await deps.database.db.select().from(messageReactions).where(eq(messageReactions.messageId, message.id))).toEqual([]);
      expect(await deps.database.db.select().from(messageMentions).where(eq(messageMentions.messageId, message.id))).toEqual([]);
      // Still in the timeline, in its place.
      expect(await listed(bob, message.id)).toEqual(tombstone);
    });

    it("replays the tombstone, never the body: the cached frames that showed it are dropped", async () => {
      const message = await send(ann, "do not replay me");
      const log = logReader(deps.services.roomLog);
      expect((await log.messages(roomId, message.seq - 1, message.seq))[0]?.body).toBe("do not replay me");
      await api(ann).messages.delete({ messageId: message.id });
      const replayed = await log.events(roomId, message.seq - 1);
      expect(JSON.stringify(replayed)).not.toContain("do not replay me");
      expect(replayed[0]).toMatchObject({ type: "message.created", message: { id: message.id, body: "", deletedBy: "sender" } });
    });

    it("lets moderators and up delete the messages of lower ranks (and of people who left), and no plain member", async () => {
      const [owner, admin, moderator, otherModerator, member, leaver] = await createUsers(deps, 6);
      const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
      for (const [user, role] of [[admin, "admin"], [moderator, "moderator"], [otherModerator, "moderator"], [member, "member"], [leaver, "member"]] as const) {
        await deps.services.rooms.join(user.id, room.id);
        if (role !== "member") await setRole(deps, room.id, user.id, role);
      }
      const says = async (user: UserPublic) => send(user, `${user.username} says`, room.id);
      const remove = (by: UserPublic, message: Message) => api(by).messages.delete({ messageId: message.id });
      const [byMember, byLeaver, byModerator, byAdmin, byOwner] = [await says(member), await says(leaver), await says(otherModerator), await says(admin), await says(owner)];
      await deps.services.rooms.leave(leaver.id, room.id);

      expect(await trpcError(remove(member, byModerator))).toMatchObject({ code: "FORBIDDEN", message: "only owners, admins and moderators can delete others' messages" });
      expect(await trpcError(remove(moderator, byModerator))).toMatchObject({ code: "FORBIDDEN", message: "moderators cannot delete messages of moderators" });
      expect(await trpcError(remove(moderator, byAdmin))).toMatchObject({ code: "FORBIDDEN", message: "moderators cannot delete messages of admins" });
      expect(await trpcError(remove(admin, byOwner))).toMatchObject({ code: "FORBIDDEN", message: "admins cannot delete messages of owners" });
      expect(await remove(moderator, byMember)).toMatchObject({ deletedBy: "moderator", body: "" });
      expect(await remove(moderator, byLeaver)).toMatchObject({ deletedBy: "moderator" });
      expect(await remove(admin, byModerator)).toMatchObject({ deletedBy: "moderator" });
      expect(await remove(owner, byAdmin)).toMatchObject({ deletedBy: "moderator" });
      expect(await remove(owner, byOwner)).toMatchObject({ deletedBy: "sender" });
      expect(await trpcError(api(outsider).messages.delete({ messageId: byMember.id }))).toMatchObject(NOT_A_MEMBER);
    });

    it("is idempotent: deleting again answers the tombstone and takes no seq", async () => {
      const message = await send(ann, "twice");
      const first = await api(ann).messages.delete({ messageId: message.id });
      const before = await logReader(deps.services.roomLog).lastSeq(roomId);
      expect(await api(ann).messages.delete({ messageId: message.id })).toEqual(first);
      expect(await logReader(deps.services.roomLog).lastSeq(roomId)).toBe(before);
    });

    it("stops counting a deleted message as unread", async () => {
      const [reader] = await createUsers(deps, 1);
      await deps.services.rooms.join(reader.id, roomId);
      const mark = await logReader(deps.services.roomLog).lastSeq(roomId);
      await deps.services.receipts.markRead(reader.id, { roomId, seq: mark });
      const [kept, gone] = [await send(ann, "kept"), await send(ann, "gone")];
      const unread = async () => (await deps.services.rooms.list(reader.id)).find((room) => room.id === roomId)?.unread;
      expect(await unread()).toBe(2);
      await api(ann).messages.delete({ messageId: gone.id });
      expect(await unread()).toBe(1);
      await api(ann).messages.react({ messageId: kept.id, emoji: "🎉" }); // a reaction is no message to read
      expect(await unread()).toBe(1);
    });
  });

  describe("reactions", () => {
    it("adds one reaction per person and emoji, aggregated with `me` for the reader, and tells the room the count", async () => {
      const message = await send(ann, "react to me");
      const events = await deps.recordEvents({ roomId });
      const afterBob = await api(bob).messages.react({ messageId: message.id, emoji: "👍🏽" });
      expect(afterBob.reactions).toEqual([{ emoji: "👍🏽", count: 1, me: true }]);
      await api(ann).messages.react({ messageId: message.id, emoji: "👍🏽" });
      await api(ann).messages.react({ messageId: message.id, emoji: "🇫🇷" });
      expect(await api(bob).messages.react({ messageId: message.id, emoji: "👍🏽" })).toMatchObject({ reactions: [{ emoji: "👍🏽", count: 2, me: true }, { emoji: "🇫🇷", count: 1, me: false }] });
      expect((await listed(owner, message.id))?.reactions).toEqual([{ emoji: "👍🏽", count: 2, me: false }, { emoji: "🇫🇷", count: 1, me: false }]);
      expect(logged(events).map((event) => event.type === "reaction.added" && [event.userId, event.emoji, event.count])).toEqual([
        [bob.id, "👍🏽", 1],
        [ann.id, "👍🏽", 2],
        [ann.id, "🇫🇷", 1],
      ]);

      const removed = await api(bob).messages.unreact({ messageId: message.id, emoji: "👍🏽" });
      expect(removed.reactions).toEqual([{ emoji: "👍🏽", count: 1, me: false }, { emoji: "🇫🇷", count: 1, me: false }]);
      await api(ann).messages.unreact({ messageId: message.id, emoji: "🇫🇷" });
      expect((await listed(ann, message.id))?.reactions).toEqual([{ emoji: "👍🏽", count: 1, me: true }]);
      expect(logged(events).slice(3).map((event) => event.type === "reaction.removed" && [event.userId, event.emoji, event.count])).toEqual([
        [bob.id, "👍🏽", 1],
        [ann.id, "🇫🇷", 0],
      ]);
      // Removing what is not there takes no seq.
      const before = await logReader(deps.services.roomLog).lastSeq(roomId);
      await api(bob).messages.unreact({ messageId: message.id, emoji: "🇫🇷" });
      expect(await logReader(deps.services.roomLog).lastSeq(roomId)).toBe(before);
    });

    it("keeps each emoji in its place until its count is 0, so clients can follow the order from the events", async () => {
      const message = await send(ann, "order");
      await api(ann).messages.react({ messageId: message.id, emoji: "👍" });
      await api(owner).messages.react({ messageId: message.id, emoji: "❤️" });
      await api(bob).messages.react({ messageId: message.id, emoji: "👍" });
      // 👍's first reactor takes theirs back: 👍 stays first (it still has Bob's).
      expect((await api(ann).messages.unreact({ messageId: message.id, emoji: "👍" })).reactions.map((r) => r.emoji)).toEqual(["👍", "❤️"]);
      await api(bob).messages.unreact({ messageId: message.id, emoji: "👍" });
      // Gone, then back: a new emoji goes last.
      expect((await api(bob).messages.react({ messageId: message.id, emoji: "👍" })).reactions.map((r) => r.emoji)).toEqual(["❤️", "👍"]);
    });

    it("pages who reacted with an emoji, first first", async () => {
      const message = await send(ann, "popular");
      const people = await createUsers(deps, 5);
      for (const person of people) {
        await deps.services.rooms.join(person.id, roomId);
        await api(person).messages.react({ messageId: message.id, emoji: "🔥" });
      }
      const first = await api(ann).messages.reactors({ messageId: message.id, emoji: "🔥", limit: 3 });
      expect(first.items.map((item) => item.user.id)).toEqual(people.slice(0, 3).map((person) => person.id));
      const rest = await api(ann).messages.reactors({ messageId: message.id, emoji: "🔥", cursor: first.nextCursor ?? undefined });
      expect(rest.items.map((item) => item.user.id)).toEqual(people.slice(3).map((person) => person.id));
      expect(rest.nextCursor).toBeNull();
      expect(await trpcError(api(outsider).messages.reactors({ messageId: message.id, emoji: "🔥" }))).toMatchObject(NOT_A_MEMBER);
    });

    it(`limits a person to ${MAX_REACTIONS_PER_USER} emoji on a message, and a message to ${MAX_DISTINCT_EMOJI} distinct emoji`, async () => {
      const message = await send(ann, "so many feelings");
      const emoji = [..."😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛😝😜🤪🤨🧐🤓😎🥸🤩🥳"];
      for (const one of emoji.slice(0, MAX_REACTIONS_PER_USER)) await api(ann).messages.react({ messageId: message.id, emoji: one });
      const personal = await trpcError(api(ann).messages.react({ messageId: message.id, emoji: emoji[MAX_REACTIONS_PER_USER] as string }));
      expect(personal).toMatchObject({ code: "BAD_REQUEST" });
      expect(personal.message).toContain(`at most ${MAX_REACTIONS_PER_USER}`);
      const reactors = await createUsers(deps, 2);
      for (const reactor of reactors) await deps.services.rooms.join(reactor.id, roomId);
      const pool = [bob, ...reactors];
      for (let i = MAX_REACTIONS_PER_USER; i < MAX_DISTINCT_EMOJI; i++) {
        const reactor = pool[Math.floor((i - MAX_REACTIONS_PER_USER) / MAX_REACTIONS_PER_USER)] as UserPublic;
        await api(reactor).messages.react({ messageId: message.id, emoji: emoji[i] as string });
      }
      const distinct = await trpcError(api(owner).messages.react({ messageId: message.id, emoji: emoji[MAX_DISTINCT_EMOJI] as string }));
      expect(distinct.message).toContain(`at most ${MAX_DISTINCT_EMOJI} different emoji`);
      // One already there can still be added to.
      expect((await api(owner).messages.react({ messageId: message.id, emoji: emoji[0] as string })).reactions[0]).toEqual({ emoji: emoji[0], count: 2, me: true });
    });

    it("accepts exactly one emoji: not text, not two, not a shortcode", async () => {
      const message = await send(ann, "emoji only");
      for (const emoji of ["👨‍👩‍👧‍👦", "🏳️‍🌈", "1️⃣", "❤️", "🫠"]) {
        expect((await api(bob).messages.react({ messageId: message.id, emoji })).reactions.some((reaction) => reaction.emoji === emoji && reaction.me)).toBe(true);
      }
      for (const emoji of ["", "a", ":+1:", "👍👍", "👍 ", "x".repeat(40), "\u0000"]) {
        expect((await inputIssues(api(bob).messages.react({ messageId: message.id, emoji }))).length, JSON.stringify(emoji)).toBeGreaterThan(0);
      }
      for (const input of [{ messageId: "nope", emoji: "👍" }, { messageId: message.id }, { messageId: message.id, emoji: "👍", extra: 1 }]) {
        expect((await inputIssues(api(bob).messages.react(input as never))).length).toBeGreaterThan(0);
      }
    });

    it("refuses reactions on a deleted message and from outsiders", async () => {
      const message = await send(ann, "to delete");
      await api(ann).messages.delete({ messageId: message.id });
      expect(await trpcError(api(bob).messages.react({ messageId: message.id, emoji: "👍" }))).toMatchObject({ code: "BAD_REQUEST" });
      const live = await send(ann, "alive");
      expect(await trpcError(api(outsider).messages.react({ messageId: live.id, emoji: "👍" }))).toMatchObject(NOT_A_MEMBER);
    });
  });

  describe("pins", () => {
    it("lets owners, admins and moderators pin and unpin, lists the pinned newest first, and refuses members", async () => {
      const [moderator] = await createUsers(deps, 1);
      await deps.services.rooms.join(moderator.id, roomId);
      await setRole(deps, roomId, moderator.id, "moderator");
      const [a, b] = [await send(ann, "pin a"), await send(bob, "pin b")];
      const events = await deps.recordEvents({ roomId });
      expect(await trpcError(api(ann).messages.pin({ messageId: a.id }))).toMatchObject({
        code: "FORBIDDEN",
        message: "only owners, admins and moderators can pin messages",
      });
      const pinnedA = await api(owner).messages.pin({ messageId: a.id });
      expect(pinnedA.pinned).toEqual({ at: expect.any(String), byUserId: owner.id });
      expect((await api(moderator).messages.pin({ messageId: b.id })).pinned).toEqual({ at: expect.any(String), byUserId: moderator.id });
      expect((await api(ann).messages.pinned({ roomId })).map((message) => message.id).slice(0, 2)).toEqual([b.id, a.id]);
      expect(await trpcError(api(bob).messages.unpin({ messageId: a.id }))).toMatchObject({ code: "FORBIDDEN" });
      expect((await api(moderator).messages.unpin({ messageId: a.id })).pinned).toBeNull();
      expect((await api(ann).messages.pinned({ roomId })).map((message) => message.id)).not.toContain(a.id);
      expect(logged(events).map((event) => event.type)).toEqual(["message.pinned", "message.pinned", "message.unpinned"]);
      expect(await trpcError(api(outsider).messages.pinned({ roomId }))).toMatchObject(NOT_A_MEMBER);
    });
  });

  describe("rate limit", () => {
    it("refuses changes past RATE_LIMIT_CHANGE_PER_USER with TOO_MANY_REQUESTS and when to retry", async () => {
      const limited = await createTestDeps(kind, { rateLimits: { changePerUser: { capacity: 2, periodSeconds: 60 } } });
      try {
        const [sender] = await createUsers(limited, 1);
        const room = await limited.services.rooms.create(sender.id, { name: token(), kind: "public" });
        const { message } = await limited.services.messages.send(sender.id, { roomId: room.id, clientMsgId: `r-${token()}`, body: "x" });
        const caller = callerFor(limited.services, sender.id);
        await caller.messages.react({ messageId: message.id, emoji: "👍" });
        await caller.messages.edit({ messageId: message.id, body: "y" });
        const refused = await trpcError(caller.messages.unreact({ messageId: message.id, emoji: "👍" }));
        expect(refused.code).toBe("TOO_MANY_REQUESTS");
      } finally {
        await limited.close();
      }
    });
  });

  describe("concurrency", () => {
    it("orders concurrent edits, reactions and a delete of one message into one log that replays to what is stored", async () => {
      const message = await send(ann, "contested");
      const log = logReader(deps.services.roomLog);
      const from = await log.lastSeq(roomId);
      await Promise.allSettled([
        ...["a", "b", "c", "d"].map((body) => api(ann).messages.edit({ messageId: message.id, body })),
        ...[owner, bob].flatMap((user) => ["👍", "🎉"].map((emoji) => api(user).messages.react({ messageId: message.id, emoji }))),
        api(owner).messages.pin({ messageId: message.id }),
      ]);
      await api(bob).messages.unreact({ messageId: message.id, emoji: "🎉" });
      const events = await log.events(roomId, from);
      expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => from + 1 + index)); // gapless
      // Folding the log's reaction counts gives the stored aggregate.
      const counts = new Map<string, number>();
      for (const event of events) if (event.type === "reaction.added" || event.type === "reaction.removed") counts.set(event.emoji, event.count);
      const stored = await listed(owner, message.id);
      expect(Object.fromEntries(stored?.reactions.map((reaction) => [reaction.emoji, reaction.count]) ?? [])).toEqual(Object.fromEntries([...counts].filter(([, count]) => count > 0)));
      const lastEdit = events.filter((event) => event.type === "message.edited").at(-1);
      expect(lastEdit?.type === "message.edited" && lastEdit.message.body).toBe(stored?.body);
    });
  });
});
