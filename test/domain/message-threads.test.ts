import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainEvent } from "../../src/domain/events.ts";
import type { Message, SendMessageInput } from "../../src/domain/messages/messages.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { logReader } from "../support/room-log.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { createUsers, setRole, token } from "./room-fixtures.ts";
import { callerFor, inputIssues, trpcError } from "./trpc-calls.ts";

/**
 * What a send can say beyond its body: a reply quoting another message, a reply in a thread (off the main timeline
 * unless `alsoInRoom`), and mentions of members or the whole room — and how each counts toward unread.
 */
describe.each(databaseKinds)("replies, threads and mentions on %s", (kind) => {
  let deps: TestDeps;
  let owner: UserPublic;
  let ann: UserPublic;
  let bob: UserPublic;
  let roomId: string;
  let otherRoomId: string;

  beforeAll(async () => {
    deps = await createTestDeps(kind);
    [owner, ann, bob] = await createUsers(deps, 3);
    ({ id: roomId } = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" }));
    ({ id: otherRoomId } = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" }));
    for (const user of [ann, bob]) await deps.services.rooms.join(user.id, roomId);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const send = async (user: UserPublic, body: string, extra: Partial<SendMessageInput> = {}): Promise<Message> =>
    callerFor(deps.services, user.id).messages.send({ roomId, clientMsgId: `c-${token()}`, body, ...extra });
  const api = (user: UserPublic) => callerFor(deps.services, user.id);
  const mainTimeline = async (user: UserPublic): Promise<string[]> => (await deps.services.messages.list(user.id, { roomId, limit: 100 })).messages.map((message) => message.id);
  const myRoom = async (user: UserPublic) => (await deps.services.rooms.list(user.id)).find((room) => room.id === roomId);
  /** Marks everything so far read for `user`: counts start from zero. */
  const readAll = async (user: UserPublic): Promise<void> => {
    await deps.services.receipts.markRead(user.id, { roomId, seq: await logReader(deps.services.roomLog).lastSeq(roomId) });
  };

  describe("replies", () => {
    it("quote their target as it is now: its edits and its deletion show in every read", async () => {
      const target = await send(ann, "the original question");
      const reply = await send(bob, "the answer", { replyTo: target.id });
      expect(reply.replyTo).toEqual({ messageId: target.id, sender: ann, excerpt: "the original question", deleted: false });
      await api(ann).messages.edit({ messageId: target.id, body: "the better question" });
      const listed = async () => (await deps.services.messages.list(owner.id, { roomId, limit: 100 })).messages.find((message) => message.id === reply.id);
      expect((await listed())?.replyTo).toEqual({ messageId: target.id, sender: ann, excerpt: "the better question", deleted: false });
      await api(ann).messages.delete({ messageId: target.id });
      expect((await listed())?.replyTo).toEqual({ messageId: target.id, sender: ann, excerpt: "", deleted: true });
    });

    it("quote at most 140 characters", async () => {
      const target = await send(ann, "x".repeat(500));
      const reply = await send(bob, "tl;dr", { replyTo: target.id });
      expect(reply.replyTo?.excerpt).toBe(`${"x".repeat(140)}…`);
    });

    it("must answer a message of the same room that is still there", async () => {
      const elsewhere = await deps.services.messages.send(owner.id, { roomId: otherRoomId, clientMsgId: `c-${token()}`, body: "other room" });
      expect(await trpcError(send(owner, "cross-room", { replyTo: elsewhere.message.id }))).toMatchObject({ code: "NOT_FOUND", message: "replyTo: no such message in this room" });
      expect(await trpcError(send(owner, "nowhere", { replyTo: crypto.randomUUID() }))).toMatchObject({ code: "NOT_FOUND", message: "replyTo: no such message in this room" });
      const gone = await send(ann, "gone");
      await api(ann).messages.delete({ messageId: gone.id });
      expect(await trpcError(send(owner, "too late", { replyTo: gone.id }))).toMatchObject({ code: "BAD_REQUEST" });
    });
  });

  describe("threads", () => {
    it("keep replies off the main timeline, summarise them on the root and page them with messages.thread", async () => {
      const root = await send(ann, "thread root");
      const events: DomainEvent[] = await deps.recordEvents({ roomId });
      const first = await send(bob, "reply 1", { threadRootId: root.id });
      await send(owner, "reply 2", { threadRootId: root.id });
      const third = await send(bob, "reply 3", { threadRootId: root.id });
      expect(first).toMatchObject({ threadRootId: root.id, alsoInRoom: false });

      const timeline = await mainTimeline(ann);
      expect(timeline).toContain(root.id);
      expect(timeline).not.toContain(first.id);
      const listedRoot = (await deps.services.messages.list(ann.id, { roomId, limit: 100 })).messages.find((message) => message.id === root.id);
      expect(listedRoot?.thread).toEqual({ replyCount: 3, lastReplyAt: expect.any(String), participants: [bob, owner] });

      // The event of each reply carries its root's summary after it.
      const created = events.flatMap((event) => (event.type === "message.created" ? [event] : []));
      expect(created.map((event) => event.root?.thread?.replyCount)).toEqual([1, 2, 3]);
      expect(created[2]?.root).toEqual({ messageId: root.id, thread: listedRoot?.thread });

      const page = await api(owner).messages.thread({ rootId: root.id, limit: 2 });
      expect(page.root.id).toBe(root.id);
      expect(page.replies.map((reply) => reply.body)).toEqual(["reply 1", "reply 2"]);
      const rest = await api(owner).messages.thread({ rootId: root.id, cursor: page.nextCursor ?? undefined });
      expect(rest.replies.map((reply) => reply.id)).toEqual([third.id]);
      expect(rest.nextCursor).toBeNull();
    });

    it("recount the root when a reply is deleted", async () => {
      const root = await send(ann, "root with a deleted reply");
      const reply = await send(bob, "only reply", { threadRootId: root.id });
      await api(bob).messages.delete({ messageId: reply.id });
      const { root: after } = await api(ann).messages.thread({ rootId: root.id });
      expect(after.thread).toBeNull();
    });

    it("show a reply sent with alsoInRoom on the main timeline too", async () => {
      const root = await send(ann, "root");
      const shown = await send(bob, "for everyone", { threadRootId: root.id, alsoInRoom: true });
      expect(await mainTimeline(owner)).toContain(shown.id);
      expect((await api(owner).messages.thread({ rootId: root.id })).replies.map((reply) => reply.id)).toEqual([shown.id]);
    });

    it("count toward unread only when on the main timeline", async () => {
      const root = await send(ann, "root for unread");
      await readAll(owner);
      await send(bob, "thread only", { threadRootId: root.id });
      expect((await myRoom(owner))?.unread).toBe(0);
      await send(bob, "also in room", { threadRootId: root.id, alsoInRoom: true });
      expect((await myRoom(owner))?.unread).toBe(1);
    });

    it("have one level: a reply cannot be a root, and the root must be in the same room", async () => {
      const root = await send(ann, "root");
      const reply = await send(bob, "reply", { threadRootId: root.id });
      expect(await trpcError(send(owner, "nested", { threadRootId: reply.id }))).toMatchObject({ code: "BAD_REQUEST" });
      expect(await trpcError(api(owner).messages.thread({ rootId: reply.id }))).toMatchObject({ code: "BAD_REQUEST" });
      const elsewhere = await deps.services.messages.send(owner.id, { roomId: otherRoomId, clientMsgId: `c-${token()}`, body: "x" });
      expect(await trpcError(send(owner, "cross", { threadRootId: elsewhere.message.id }))).toMatchObject({ code: "NOT_FOUND" });
      const [outsider] = await createUsers(deps, 1);
      expect(await trpcError(api(outsider).messages.thread({ rootId: root.id }))).toMatchObject({ code: "FORBIDDEN" });
    });

    it("refuse bad input with BAD_REQUEST", async () => {
      const root = await send(ann, "root");
      for (const extra of [{ alsoInRoom: true }, { threadRootId: "nope" }, { replyTo: "nope" }, { alsoInRoom: "yes" }]) {
        expect((await inputIssues(send(owner, "x", extra as never))).length, JSON.stringify(extra)).toBeGreaterThan(0);
      }
      for (const input of [{ rootId: root.id, limit: 0 }, { rootId: root.id, limit: 101 }, { rootId: root.id, cursor: -1 }, { rootId: "x" }]) {
        expect((await inputIssues(api(owner).messages.thread(input as never))).length, JSON.stringify(input)).toBeGreaterThan(0);
      }
    });
  });

  describe("mentions", () => {
    it("resolve @username of current members into ids, and leave other names as text", async () => {
      const [stranger] = await createUsers(deps, 1);
      const message = await send(ann, `hey @${bob.username}, @${bob.username.toUpperCase()} and @${stranger.username} — mail me at x@${owner.username}.org`);
      expect(message.mentions).toEqual([bob.id]);
      expect(message.mentionsRoom).toBe(false);
    });

    it("take @room from moderators and up only, in sends and in edits", async () => {
      const [moderator] = await createUsers(deps, 1);
      await deps.services.rooms.join(moderator.id, roomId);
      await setRole(deps, roomId, moderator.id, "moderator");
      expect((await send(ann, "@room listen up")).mentionsRoom).toBe(false);
      expect((await send(owner, "@room listen up")).mentionsRoom).toBe(true);
      const plain = await send(moderator, "listen up");
      expect(plain.mentionsRoom).toBe(false);
      expect((await api(moderator).messages.edit({ messageId: plain.id, body: "@room listen up" })).mentionsRoom).toBe(true);
      const annEdited = await send(ann, "listen");
      expect((await api(ann).messages.edit({ messageId: annEdited.id, body: "@room listen" })).mentionsRoom).toBe(false);
    });

    it("count as unread mentions of me until I read past them, also in threads, never my own, never deleted ones", async () => {
      await readAll(bob);
      const root = await send(owner, "plain");
      await send(ann, `@${bob.username} look`);
      await send(ann, `@${bob.username} in a thread`, { threadRootId: root.id });
      const everyone = await send(owner, `@room and @${bob.username} counted once`);
      await send(bob, `talking to myself @${bob.username}`);
      expect(await myRoom(bob)).toMatchObject({ unreadMentions: 3 });
      await api(owner).messages.delete({ messageId: everyone.id });
      expect(await myRoom(bob)).toMatchObject({ unreadMentions: 2 });

      const events = await deps.recordEvents({ userId: bob.id });
      const state = await deps.services.receipts.markRead(bob.id, { roomId, seq: await logReader(deps.services.roomLog).lastSeq(roomId) });
      expect(state).toMatchObject({ unread: 0, unreadMentions: 0 });
      expect(events).toContainEqual(expect.objectContaining({ type: "unread.updated", roomId, unread: 0, unreadMentions: 0 }));
    });

    it("follow edits: a mention edited away no longer counts, one edited in does", async () => {
      await readAll(bob);
      const message = await send(ann, `@${bob.username} first`);
      expect(await myRoom(bob)).toMatchObject({ unreadMentions: 1 });
      const edited = await api(ann).messages.edit({ messageId: message.id, body: "nobody in particular" });
      expect(edited.mentions).toEqual([]);
      expect(await myRoom(bob)).toMatchObject({ unreadMentions: 0 });
      await api(ann).messages.edit({ messageId: message.id, body: `@${bob.username} again` });
      expect(await myRoom(bob)).toMatchObject({ unreadMentions: 1 });
    });
  });

  describe("links", () => {
    it("are detected for the search filter", async () => {
      expect((await send(ann, "see https://example.com/x")).hasLink).toBe(true);
      expect((await send(ann, "no link here, just http talk")).hasLink).toBe(false);
      const edited = await api(ann).messages.edit({ messageId: (await send(ann, "later")).id, body: "now http://example.org" });
      expect(edited.hasLink).toBe(true);
    });
  });
});
