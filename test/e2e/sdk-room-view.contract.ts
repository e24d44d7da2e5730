import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createParleyClient, type LiveRoomView, type ParleyClient } from "../../client-sdk/src/index.ts";
import type { Message, Room, UserProfile } from "../../src/contract.ts";
import { type Chatter, publicRoom, registerChatter } from "../support/chatters.ts";
import { type ClientNetwork, createClientNetwork } from "../support/client-network.ts";
import { uniqueUsername } from "../support/factories.ts";
import { liveRoomHistory } from "../support/rich-room.ts";
import { type RuntimeName, type ServerProcess, startServer } from "../support/server-process.ts";

/** What a resume replays: more than a rich room's story makes (liveRoomHistory, about 25 events), small enough to send past. */
const RESUME_BUDGET = 40;

/**
 * `parley.realtime.view(roomId)` against a real server (run once per runtime: sdk-room-view.<runtime>.test.ts): the view a member's SDK keeps of a room equals a fresh
 * `messages.list` after live traffic, after a reconnect the server could replay, after one it could not (the view
 * starts over from a page), and when the connection opened after the view's page was read.
 */
export function roomViewSuite(runtime: RuntimeName): void {
  describe(`the SDK's live room view, against ${runtime}`, () => {
    let server: ServerProcess;
    const cleanups: (() => void)[] = [];

    beforeAll(async () => {
      server = await startServer(runtime, { RESUME_MAX_MESSAGES: String(RESUME_BUDGET) });
    });
    afterEach(() => {
      for (const cleanup of cleanups.splice(0)) cleanup();
    });
    afterAll(async () => {
      const code = await server?.stop();
      expect(code, server?.output()).toBe(0);
    });

    interface Member {
      user: UserProfile;
      client: ParleyClient;
      network: ClientNetwork;
      /** How many messages.list calls this member's SDK made, the specs' own checks aside. */
      lists(): number;
      checks: number;
    }

    async function member(name: string): Promise<Member> {
      const network = createClientNetwork();
      let lists = 0;
      const client = createParleyClient({
        url: server.url,
        WebSocket: network.WebSocket,
        fetch: ((input: RequestInfo | URL, init?: RequestInit) => {
          lists += String(input).split("messages.list").length - 1; // a batch may carry several
          return network.fetch(input, init);
        }) as typeof fetch,
        reconnect: { minDelayMs: 50, maxDelayMs: 300 },
      });
      const username = uniqueUsername(name);
      const user = await client.register({ email: `${username}@example.test`, username, password: "correct horse battery staple" });
      cleanups.push(() => client.realtime.disconnect());
      const created: Member = { user, client, network, lists: () => lists - created.checks, checks: 0 };
      return created;
    }

    async function roomOf(owner: Member, ...members: Member[]): Promise<Room> {
      const room = await owner.client.api.rooms.create.mutate({ name: `room ${Math.random()}`, kind: "public" });
      for (const joining of members) await joining.client.api.rooms.join.mutate({ roomId: room.id });
      return room;
    }

    function viewOf(who: Member, roomId: string, limit?: number): LiveRoomView {
      const view = who.client.realtime.view(roomId, limit === undefined ? {} : { limit });
      cleanups.push(() => view.close());
      return view;
    }

    let sends = 0;
    const send = (who: Member, roomId: string, body: string, more: { replyTo?: string; threadRootId?: string; alsoInRoom?: boolean } = {}): Promise<Message> =>
      who.client.api.messages.send.mutate({ roomId, clientMsgId: `view-spec-${(sends += 1)}-${Date.now()}`, body, ...more });

    /** A fresh messages.list, once the view stands where it was read (every change was committed before it): the two must be equal. */
    async function converges(view: LiveRoomView, reader: Member, roomId: string, limit = 50): Promise<Message[]> {
      reader.checks += 1;
      const fresh = await reader.client.api.messages.list.query({ roomId, limit });
      await view.reached(fresh.lastSeq);
      expect(view.position).toBe(fresh.lastSeq);
      expect(view.messages()).toEqual(fresh.messages);
      return fresh.messages;
    }

    it("follows a room live: messages, replies quoting their target, thread replies and their root's summary, mentions", async () => {
      const [alice, bob, carol] = [await member("alice"), await member("bob"), await member("carol")];
      const room = await roomOf(alice, bob, carol);
      carol.client.realtime.connect();
      await carol.client.realtime.whenOpen();
      const view = viewOf(carol, room.id);
      await view.ready();
      const changes: number[] = [];
      view.subscribe(() => changes.push(view.position ?? -1));

      const question = await send(alice, room.id, `a question for @${carol.user.username}`);
      await send(bob, room.id, "an answer", { replyTo: question.id });
      await send(bob, room.id, "in the thread", { threadRootId: question.id });
      await send(carol, room.id, "in the thread, and the room", { threadRootId: question.id, alsoInRoom: true });

      const messages = await converges(view, carol, room.id);
      expect(messages.map((message) => message.body)).toEqual([`a question for @${carol.user.username}`, "an answer", "in the thread, and the room"]);
      expect(view.message(question.id)?.thread).toMatchObject({ replyCount: 2 });
      expect(view.message(question.id)?.mentions).toEqual([carol.user.id]);
      expect(view.thread(question.id).map((reply) => reply.body)).toEqual(["in the thread", "in the thread, and the room"]);
      expect(changes.length).toBeGreaterThanOrEqual(4);
      expect(carol.lists()).toBe(1); // the first page; everything after came as events
    });

    it("after a reconnect the server could replay, equals a fresh messages.list without reading a page again", async () => {
      const [alice, carol] = [await member("alice"), await member("carol")];
      const room = await roomOf(alice, carol);
      carol.client.realtime.connect();
      await carol.client.realtime.whenOpen();
      const view = viewOf(carol, room.id);
      await view.ready();
      const first = await send(alice, room.id, "before the cut");
      await converges(view, carol, room.id);

      carol.network.cut();
      await send(alice, room.id, "while carol was away", { replyTo: first.id });
      await send(alice, room.id, "in a thread while away", { threadRootId: first.id });
      carol.network.restore();

      await converges(view, carol, room.id);
      expect(view.message(first.id)?.thread).toMatchObject({ replyCount: 1 });
      expect(carol.lists()).toBe(1);
    });

    it("after two people edit, react, reply, thread, delete and pin — live, then while it is cut off — equals a fresh messages.list and messages.thread", async () => {
      const chatters: Chatter[] = [await registerChatter(server.url, "ann"), await registerChatter(server.url, "ben")];
      cleanups.push(() => chatters.forEach((chatter) => chatter.client.realtime.disconnect()));
      const [ann, ben] = chatters as [Chatter, Chatter];
      const carol = await member("carol");
      const room = await publicRoom(ann, ben);
      await carol.client.api.rooms.join.mutate({ roomId: room.id });
      carol.client.realtime.connect();
      await carol.client.realtime.whenOpen();
      const view = viewOf(carol, room.id);
      await view.ready();

      const first = await liveRoomHistory(room.id, ann, ben, `live-${room.id.slice(0, 8)}`);
      await carol.client.api.messages.react.mutate({ messageId: first.answer.id, emoji: "👀" });
      await converges(view, carol, room.id);
      expect(view.message(first.answer.id)?.reactions).toContainEqual({ emoji: "👀", count: 1, me: true });

      carol.network.cut();
      await ann.client.api.messages.react.mutate({ messageId: first.answer.id, emoji: "👀" }); // pushed as me: false
      const away = await liveRoomHistory(room.id, ann, ben, `away-${room.id.slice(0, 8)}`);
      carol.network.restore();

      const messages = await converges(view, carol, room.id);
      expect(view.message(first.answer.id)?.reactions).toContainEqual({ emoji: "👀", count: 2, me: true });
      expect(messages.find((message) => message.id === away.deleted.id)).toMatchObject({ body: "", deletedBy: "sender" });
      expect(carol.lists()).toBe(1); // replayed, not read again
      for (const root of [first.threadRoot.id, away.threadRoot.id]) {
        const { nextCursor } = await view.loadThread(root);
        expect(nextCursor).toBeNull();
        const fresh = await carol.client.api.messages.thread.query({ rootId: root });
        expect(view.thread(root)).toEqual(fresh.replies);
        expect(view.message(root)).toEqual(fresh.root);
      }
    });

    it("after a reconnect the server could replay, shows the role changes, removals and room changes made while it was away", async () => {
      const [alice, bob, dave, carol] = [await member("alice"), await member("bob"), await member("dave"), await member("carol")];
      const room = await roomOf(alice, bob, dave, carol);
      carol.client.realtime.connect();
      await carol.client.realtime.whenOpen();
      const view = viewOf(carol, room.id);
      await view.ready();
      await send(alice, room.id, "before the cut");
      await converges(view, carol, room.id);

      carol.network.cut();
      await alice.client.api.rooms.setRole.mutate({ roomId: room.id, userId: bob.user.id, role: "moderator" });
      await bob.client.api.rooms.kick.mutate({ roomId: room.id, userId: dave.user.id });
      await alice.client.api.rooms.update.mutate({ roomId: room.id, name: "renamed while carol was away" });
      carol.network.restore();

      await converges(view, carol, room.id);
      expect(carol.lists()).toBe(1); // replayed, not read again
      expect(view.activity().map((event) => event.type)).toEqual(["member.role", "member.left", "room.updated"]);
      expect(view.activity()[1]).toMatchObject({ userId: dave.user.id, reason: "removed" });
      expect(view.roles().get(bob.user.id)).toBe("moderator");
      expect(view.roles().get(dave.user.id)).toBeNull();
      expect(view.room()?.name).toBe("renamed while carol was away");
    });

    it("after a reconnect past what the server replays (resumed, not recovered), starts over from a fresh page", async () => {
      const [alice, carol] = [await member("alice"), await member("carol")];
      const room = await roomOf(alice, carol);
      carol.client.realtime.connect();
      await carol.client.realtime.whenOpen();
      const view = viewOf(carol, room.id);
      await view.ready();
      await send(alice, room.id, "before the cut");
      await converges(view, carol, room.id);
      const resumed = new Promise((resolve) => carol.client.realtime.on("resumed", (event) => event.roomId === room.id && resolve(event)));

      carol.network.cut();
      for (let n = 0; n < RESUME_BUDGET + 3; n += 1) await send(alice, room.id, `missed ${n}`);
      carol.network.restore();

      expect(await resumed).toMatchObject({ recovered: false });
      await converges(view, carol, room.id);
      expect(carol.lists()).toBeGreaterThanOrEqual(2); // the first page, and the one it started over from
    });

    it("reads the page again when the connection opens past it (events it could not have been given)", async () => {
      const [alice, carol] = [await member("alice"), await member("carol")];
      const room = await roomOf(alice, carol);
      const view = viewOf(carol, room.id); // before connect(): the page is read now, events flow later
      await view.ready();
      const before = view.position;
      await send(alice, room.id, "sent before carol connected");

      carol.client.realtime.connect();
      await carol.client.realtime.whenOpen();

      await converges(view, carol, room.id);
      expect(view.position).toBeGreaterThan(before ?? 0);
      expect(view.messages().map((message) => message.body)).toEqual(["sent before carol connected"]);
      expect(carol.lists()).toBe(2); // `ready` put the room's stream past the first page
    });

    it("fails for good, and says so, for a room the reader cannot read", async () => {
      const [alice, carol] = [await member("alice"), await member("carol")];
      const hidden = await alice.client.api.rooms.create.mutate({ name: "private", kind: "private" });
      const view = viewOf(carol, hidden.id);

      await expect(view.ready()).rejects.toMatchObject({ data: { code: "FORBIDDEN" } });
      expect(view.state).toBe("failed");
      await expect(view.reached(1)).rejects.toMatchObject({ data: { code: "FORBIDDEN" } });
      await expect(view.loadOlder()).rejects.toMatchObject({ data: { code: "FORBIDDEN" } });
    });

    it("pages back to the room's first message", async () => {
      const [alice, carol] = [await member("alice"), await member("carol")];
      const room = await roomOf(alice, carol);
      for (let n = 0; n < 7; n += 1) await send(alice, room.id, `#${n}`);
      const view = viewOf(carol, room.id, 3);
      await view.ready();
      expect(view.messages().map((message) => message.body)).toEqual(["#4", "#5", "#6"]);

      while (await view.loadOlder());

      expect(view.hasOlder).toBe(false);
      expect(view.messages()).toEqual((await carol.client.api.messages.list.query({ roomId: room.id })).messages);
    });
  });
}
