import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResumePositions, ServerEvent } from "../../src/contract.ts";
import { type Chatter, eventually, openChatterSocket, positionIn, publicRoom, registerChatter } from "../support/chatters.ts";
import { type RuntimeName, type ServerProcess, startServer, TEST_ORIGIN } from "../support/server-process.ts";
import { openSilentPeer, sendKeylessUpgrade } from "../support/silent-peer.ts";
import { openTestSocket, type TestSocket, type UpgradeRefusal } from "../support/socket-client.ts";

/** Small enough that a test can send past it quickly. */
const RESUME_BUDGET = 30;
/** The shortest the config allows, so the dead-peer test is quick; live clients answer pings and stay. */
const IDLE_TIMEOUT_SECONDS = 5;
/** WS_MAX_SOCKETS_PER_USER at its default. */
const SOCKETS_PER_USER = 16;
/** The smallest send buffer the config allows, so a paused reader trips it soon after the kernel buffers fill. */
const MAX_BUFFERED_BYTES = 64 * 1024;

/**
 * The realtime behaviour every runtime must show, end to end: a real server process, real sockets, the SDK and
 * plain WebSockets. Run once per runtime (realtime.<runtime>.test.ts).
 */
export function realtimeSuite(runtime: RuntimeName): void {
  describe(`realtime on ${runtime}`, () => {
    let server: ServerProcess;
    const chatters: Chatter[] = [];
    const sockets: TestSocket[] = [];

    beforeAll(async () => {
      server = await startServer(runtime, {
        RESUME_MAX_MESSAGES: String(RESUME_BUDGET),
        WS_IDLE_TIMEOUT_SECONDS: String(IDLE_TIMEOUT_SECONDS),
      });
    });
    afterAll(async () => {
      for (const chatter of chatters) chatter.client.realtime.disconnect();
      for (const socket of sockets) socket.terminate();
      const code = await server?.stop();
      expect(code, server?.output()).toBe(0);
    });

    async function chatter(name: string): Promise<Chatter> {
      const created = await registerChatter(server.url, name);
      chatters.push(created);
      return created;
    }

    function socketFor(who: Chatter, resume?: ResumePositions): Promise<TestSocket> {
      return socketOn(server, who, resume);
    }

    async function socketOn(target: ServerProcess, who: Chatter, resume?: ResumePositions): Promise<TestSocket> {
      const socket = await openChatterSocket(target.url, who, resume);
      sockets.push(socket);
      return socket;
    }


    const messagesIn = (socket: TestSocket, roomId: string): Extract<ServerEvent, { type: "message.created" }>[] =>
      socket.events.filter((event): event is Extract<ServerEvent, { type: "message.created" }> =>
        event.type === "message.created" && event.roomId === roomId,
      );

    it("lets two users chat in real time through the SDK, each message acknowledged after its commit", async () => {
      const [alice, bob] = [await chatter("alice"), await chatter("bob")];
      const room = await publicRoom(alice, bob);
      alice.client.realtime.connect();
      bob.client.realtime.connect();
      await Promise.all([alice.client.realtime.whenOpen(), bob.client.realtime.whenOpen()]);

      const sent = await alice.client.realtime.send(room.id, "hello bob");
      expect(sent).toMatchObject({ roomId: room.id, seq: room.lastSeq + 1, body: "hello bob", sender: { id: alice.user.id } });
      const received = await bob.waitFor("message.created", (event) => event.roomId === room.id);
      expect(received.message).toEqual(sent);

      await bob.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "bob-reply-1", body: "hi alice" });
      const reply = await alice.waitFor("message.created", (event) => event.message.body === "hi alice");
      expect(reply.seq).toBe(room.lastSeq + 2);
      expect(alice.bodies(room.id)).toEqual(["hello bob", "hi alice"]);
    });

    it("shows typing to the other members of the room", async () => {
      const [alice, bob] = [await chatter("alice"), await chatter("bob")];
      const room = await publicRoom(alice, bob);
      alice.client.realtime.connect();
      bob.client.realtime.connect();
      await Promise.all([alice.client.realtime.whenOpen(), bob.client.realtime.whenOpen()]);
      bob.client.realtime.typing(room.id, true);
      const typing = await alice.waitFor("typing", (event) => event.roomId === room.id);
      expect(typing).toEqual({ type: "typing", roomId: room.id, userId: bob.user.id, active: true });
    });

    it("reports delivery as messages arrive, announces reads, and updates the reader's other devices", async () => {
      const [alice, bob] = [await chatter("alice"), await chatter("bob")];
      const room = await publicRoom(alice, bob);
      const bobsOtherDevice = await socketFor(bob);
      alice.client.realtime.connect();
      bob.client.realtime.connect();
      await Promise.all([alice.client.realtime.whenOpen(), bob.client.realtime.whenOpen()]);
      const { seq } = await alice.client.realtime.send(room.id, "did you get this?");
      const delivered = await alice.waitFor("receipt.updated", (event) => event.userId === bob.user.id);
      expect(delivered).toEqual({ type: "receipt.updated", roomId: room.id, userId: bob.user.id, deliveredSeq: seq });

      expect(await bob.client.api.messages.markRead.mutate({ roomId: room.id, seq })).toMatchObject({ unread: 0 });
      await alice.waitFor("receipt.updated", (event) => event.userId === bob.user.id && event.readSeq === seq);
      await bobsOtherDevice.waitFor((event) => event.type === "unread.updated" && event.roomId === room.id && event.unread === 0);
      const status = await alice.client.api.messages.status.query({ roomId: room.id, seq });
      expect(status.members).toEqual([{ userId: bob.user.id, deliveredAt: expect.any(String), readAt: expect.any(String) }]);
    });

    it("announces presence when a user's socket opens and closes", async () => {
      const [alice, bob] = [await chatter("alice"), await chatter("bob")];
      const room = await publicRoom(alice, bob);
      const watcher = await socketFor(alice);
      const bobSocket = await socketFor(bob);
      await watcher.waitFor((event) => event.type === "presence" && event.userId === bob.user.id && event.status === "online");
      bobSocket.close();
      const offline = await watcher.waitFor(
        (event) => event.type === "presence" && event.userId === bob.user.id && event.status === "offline",
      );
      expect(offline).toMatchObject({ roomId: room.id, lastSeenAt: expect.any(String) });
    });

    it("resumes a dropped socket with exactly the missed messages, in order, then goes live without duplicates", async () => {
      const [alice, bob] = [await chatter("alice"), await chatter("bob")];
      const room = await publicRoom(alice, bob);
      const first = await socketFor(bob);
      const before = await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "before-drop", body: "m0" });
      await first.waitFor((event) => event.type === "message.created" && event.roomId === room.id);
      first.terminate();

      const base = before.seq;
      for (let i = 1; i <= 5; i++) {
        await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: `while-away-${i}`, body: `m${i}` });
      }
      const second = await socketFor(bob, positionIn(room, base));
      const missed = [1, 2, 3, 4, 5].map((i) => base + i);
      expect(messagesIn(second, room.id).map((event) => event.seq)).toEqual(missed);
      const resumedAt = second.events.findIndex((event) => event.type === "resumed");
      expect(second.events[resumedAt]).toEqual({ type: "resumed", roomId: room.id, recovered: true, missed: null, epoch: room.epoch, reset: false });
      expect(second.events.findIndex((event) => event.type === "message.created" && event.seq === base + 5)).toBeLessThan(resumedAt);

      await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "after-resume", body: "m7" });
      await second.waitFor((event) => event.type === "message.created" && event.seq === base + 6);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(messagesIn(second, room.id).map((event) => event.seq)).toEqual([...missed, base + 6]);
    });

    it("replays every room event it missed, not only messages: joins, departures and renames in their seq order", async () => {
      const [alice, bob, carol] = [await chatter("alice"), await chatter("bob"), await chatter("carol")];
      const room = await publicRoom(alice, bob);
      const first = await socketFor(bob);
      first.terminate();
      await carol.client.api.rooms.join.mutate({ roomId: room.id });
      const hello = await carol.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "carol-says-hi", body: "hi all" });
      await alice.client.api.rooms.update.mutate({ roomId: room.id, name: "renamed" });
      await carol.client.api.rooms.leave.mutate({ roomId: room.id });
      const second = await socketFor(bob, positionIn(room, room.lastSeq));
      await second.waitFor((event) => event.type === "resumed" && event.roomId === room.id);
      const replayed = second.events.filter((event) => "seq" in event && event.roomId === room.id);
      expect(replayed).toEqual([
        { type: "member.joined", roomId: room.id, seq: room.lastSeq + 1, member: { user: { id: carol.user.id, username: carol.user.username, displayName: carol.user.displayName }, role: "member" } },
        { type: "message.created", roomId: room.id, seq: room.lastSeq + 2, message: hello },
        { type: "room.updated", roomId: room.id, seq: room.lastSeq + 3, room: expect.objectContaining({ name: "renamed", lastSeq: room.lastSeq + 3 }) },
        { type: "member.left", roomId: room.id, seq: room.lastSeq + 4, userId: carol.user.id, reason: "left" },
      ]);
    });

    it("tells a client resuming from another epoch of the room's stream to start over, never continuing from its seq", async () => {
      const [alice, bob] = [await chatter("alice"), await chatter("bob")];
      const room = await publicRoom(alice, bob);
      await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "before-restore", body: "one" });
      // As if bob's position came from before the database was restored: another epoch, a seq that means nothing here.
      const socket = await socketFor(bob, { [room.id]: { seq: 1, epoch: room.epoch === 1 ? 2 : room.epoch - 1 } });
      expect(socket.events.find((event) => event.type === "resumed")).toEqual({
        type: "resumed",
        roomId: room.id,
        recovered: false,
        missed: { fromSeq: 1, toSeq: room.lastSeq + 1 },
        epoch: room.epoch,
        reset: true,
      });
      expect(messagesIn(socket, room.id)).toEqual([]); // nothing replayed onto a view that must be rebuilt
    });

    it("starts over a client that claims events the room does not have (a database restored to before them)", async () => {
      const [alice, bob] = [await chatter("alice"), await chatter("bob")];
      const room = await publicRoom(alice, bob);
      await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "after-the-backup", body: "one" });
      // Same epoch, but a seq past the room's last event: the next events will take those seqs, so no continuing.
      const socket = await socketFor(bob, positionIn(room, room.lastSeq + 50));
      expect(socket.events.find((event) => event.type === "resumed")).toEqual({
        type: "resumed",
        roomId: room.id,
        recovered: false,
        missed: { fromSeq: 1, toSeq: room.lastSeq + 1 },
        epoch: room.epoch,
        reset: true,
      });
    });

    it("resumes through the SDK after a disconnect, and delivers sends queued while offline", async () => {
      const [alice, bob] = [await chatter("alice"), await chatter("bob")];
      const room = await publicRoom(alice, bob);
      bob.client.realtime.connect();
      await bob.client.realtime.whenOpen();
      await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "sdk-before-drop", body: "one" });
      await bob.waitFor("message.created", (event) => event.message.body === "one");

      bob.client.realtime.disconnect();
      for (const body of ["two", "three", "four"]) {
        await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: `sdk-message-${body}`, body });
      }
      const queued = bob.client.realtime.send(room.id, "sent while offline");
      bob.client.realtime.connect();
      await expect(queued).resolves.toMatchObject({ seq: room.lastSeq + 5, body: "sent while offline" });
      await eventually(() => bob.bodies(room.id).length === 5, () => JSON.stringify(bob.bodies(room.id)));
      expect(bob.bodies(room.id)).toEqual(["one", "two", "three", "four", "sent while offline"]);
    });

    it("says recovered: false, with the range to page, when more was missed than the resume budget", async () => {
      const [alice, bob] = [await chatter("alice"), await chatter("bob")];
      const room = await publicRoom(alice, bob);
      for (let i = 1; i <= RESUME_BUDGET + 5; i++) {
        await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: `burst-message-${i}`, body: `b${i}` });
      }
      const socket = await socketFor(bob, positionIn(room, room.lastSeq));
      expect(socket.events.find((event) => event.type === "resumed")).toEqual({
        type: "resumed",
        roomId: room.id,
        recovered: false,
        missed: { fromSeq: room.lastSeq + 1, toSeq: room.lastSeq + RESUME_BUDGET + 5 },
        epoch: room.epoch,
        reset: false,
      });
      expect(messagesIn(socket, room.id)).toEqual([]);
      // The range is exactly what rooms.events pages.
      const paged = await bob.client.api.rooms.events.query({ roomId: room.id, after: room.lastSeq, limit: 500 });
      expect(paged).toMatchObject({ lastSeq: room.lastSeq + RESUME_BUDGET + 5, epoch: room.epoch, hasMore: false });
      expect(paged.events.map((event) => event.seq)).toEqual(Array.from({ length: RESUME_BUDGET + 5 }, (_, i) => room.lastSeq + 1 + i));
      await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "burst-live-message", body: "live" });
      const live = await socket.waitFor((event) => event.type === "message.created" && event.roomId === room.id);
      expect(live).toMatchObject({ seq: room.lastSeq + RESUME_BUDGET + 6 });
    });

    it("attaches rooms joined after connecting and drops rooms the user was removed from", async () => {
      const [alice, bob] = [await chatter("alice"), await chatter("bob")];
      const room = await alice.client.api.rooms.create.mutate({ name: "private", kind: "private" });
      const socket = await socketFor(bob);
      const { invitationId } = await alice.client.api.rooms.invite.mutate({ roomId: room.id, userId: bob.user.id });
      await socket.waitFor((event) => event.type === "invitation" && event.invitation.room.id === room.id);
      await bob.client.api.rooms.acceptInvite.mutate({ invitationId: invitationId as string });
      await socket.waitFor((event) => event.type === "room.membership" && event.roomId === room.id);
      await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "after-invite", body: "welcome" });
      await socket.waitFor((event) => event.type === "message.created" && event.roomId === room.id);

      await alice.client.api.rooms.kick.mutate({ roomId: room.id, userId: bob.user.id });
      await socket.waitFor(
        (event) => event.type === "room.membership" && event.roomId === room.id && event.membership === "removed",
      );
      await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "after-kick", body: "secret" });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(messagesIn(socket, room.id).map((event) => event.message.body)).toEqual(["welcome"]);
    });

    it("closes the sockets of a session that logs out with 4001", async () => {
      const bob = await chatter("bob");
      const socket = await socketFor(bob);
      await bob.client.logout();
      expect((await socket.closed).code).toBe(4001);
    });

    it("acknowledges socket sends after commit, idempotently on clientMsgId, and refuses bad ones with typed errors", async () => {
      const alice = await chatter("alice");
      const room = await publicRoom(alice);
      const socket = await socketFor(alice);
      socket.send({ type: "send", roomId: room.id, clientMsgId: "socket-send-1", body: "  once  " });
      const ack = await socket.waitFor<Extract<ServerEvent, { type: "ack" }>>((event) => event.type === "ack");
      expect(ack.message).toMatchObject({ seq: 1, body: "once" });
      socket.send({ type: "send", roomId: room.id, clientMsgId: "socket-send-1", body: "once" });
      await eventually(() => socket.events.filter((event) => event.type === "ack").length === 2, () => "second ack");
      const acks = socket.events.filter((event) => event.type === "ack");
      expect(acks[1]).toEqual(ack);

      socket.send({ type: "send", roomId: room.id, clientMsgId: "socket-send-2", body: "   " });
      socket.send({ type: "send", roomId: crypto.randomUUID(), clientMsgId: "socket-send-3", body: "where?" });
      const empty = await socket.waitFor((event) => event.type === "error" && event.clientMsgId === "socket-send-2");
      const forbidden = await socket.waitFor((event) => event.type === "error" && event.clientMsgId === "socket-send-3");
      expect(empty).toMatchObject({ code: "BAD_REQUEST" });
      expect(forbidden).toMatchObject({ code: "FORBIDDEN" });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(messagesIn(socket, room.id).map((event) => event.seq)).toEqual([1]);
    });

    it("answers malformed frames with error events, closes a persistent abuser with 1008, and stays up", async () => {
      const alice = await chatter("alice");
      const socket = await socketFor(alice);
      const bad: (string | Buffer)[] = [
        "not json",
        "[]",
        JSON.stringify({ type: "nope" }),
        JSON.stringify({ type: "send" }),
        JSON.stringify({ type: "typing", roomId: crypto.randomUUID(), active: true, extra: 1 }),
        JSON.stringify({ type: "resume", rooms: { "not-a-uuid": 1 } }),
        JSON.stringify({ __proto__: { polluted: true }, type: "ping" }).replace("{", '{"constructor":{},'),
        Buffer.from([0, 1, 2, 3]),
      ];
      for (const frame of bad) socket.sendRaw(frame);
      await eventually(() => socket.events.filter((event) => event.type === "error").length === bad.length, () =>
        JSON.stringify(socket.events),
      );
      socket.send({ type: "typing", roomId: crypto.randomUUID(), active: true });
      await socket.waitFor((event) => event.type === "error" && event.code === "FORBIDDEN");
      socket.send({ type: "ping", id: "still-here" });
      await socket.waitFor((event) => event.type === "pong" && event.id === "still-here");

      // Paced: Deno drops the TCP connection (1006) when data frames arrive after it sent its close frame, so a
      // client that floods past the close sees 1006 there instead of 1008. Either way the abuser is gone.
      for (let i = 0; i < 5; i++) {
        socket.sendRaw("garbage");
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      expect((await socket.closed).code).toBe(1008);
      expect((await fetch(`${server.url}/livez`)).status).toBe(200);
    });

    it("refuses delivery receipts with bad seqs, for rooms the socket is not in, and past a room's end", async () => {
      const alice = await chatter("alice");
      const room = await publicRoom(alice);
      await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "receipt-bounds-1", body: "one" });
      const socket = await socketFor(alice);
      const strangersRoom = crypto.randomUUID();
      socket.sendRaw(JSON.stringify({ type: "delivered", rooms: { [room.id]: 0 } }));
      socket.sendRaw(JSON.stringify({ type: "delivered", rooms: { [room.id]: "1" } }));
      socket.send({ type: "delivered", rooms: { [strangersRoom]: 1 } });
      socket.send({ type: "delivered", rooms: { [room.id]: 2 } });
      await eventually(() => socket.events.filter((event) => event.type === "error").length === 4, () => JSON.stringify(socket.events));
      const errors = socket.events.filter((event) => event.type === "error");
      expect(errors.map((event) => event.code)).toEqual(["BAD_FRAME", "BAD_FRAME", "FORBIDDEN", "BAD_REQUEST"]);
      expect(errors[2]).toMatchObject({ roomId: strangersRoom });
      expect((await alice.client.api.rooms.list.query())[0]).toMatchObject({ deliveredSeq: 0 }); // nothing moved
      socket.send({ type: "delivered", rooms: { [room.id]: 1 } });
      for (let tries = 0; (await alice.client.api.rooms.list.query())[0]?.deliveredSeq !== 1; tries++) {
        if (tries > 100) throw new Error("a valid delivered frame did not move the watermark");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });

    it("closes a socket that sends a frame over 64 KiB with 1009", async () => {
      const alice = await chatter("alice");
      const socket = await socketFor(alice);
      socket.sendRaw("x".repeat(64 * 1024 + 1));
      expect((await socket.closed).code).toBe(1009);
      expect((await fetch(`${server.url}/livez`)).status).toBe(200);
    });

    it("pings idle sockets and closes one whose peer stopped answering", async () => {
      const alice = await chatter("alice");
      const live = await socketFor(alice);
      const { ticket } = await alice.client.api.auth.wsTicket.mutate({});
      const dead = await openSilentPeer(`${server.url.replace("http", "ws")}/ws?ticket=${ticket}`);
      const closedAfterMs = await dead.closedAfterMs;
      expect(closedAfterMs).toBeLessThanOrEqual(IDLE_TIMEOUT_SECONDS * 2 * 1000 + 2000);
      expect(live.raw.readyState).toBe(1); // a peer that answers pings is kept
    }, 30_000);

    it("closes a reader that cannot keep up with 4002, and it resumes without a silent gap", async () => {
      // Its own server: a paused reader also stops answering pings, and this suite's 5 s idle timeout would
      // (rightly) drop it as dead before its buffers fill.
      const own = await startServer(runtime, { WS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES) });
      const [alice, bob] = [await registerChatter(own.url, "alice"), await registerChatter(own.url, "bob")];
      const room = await publicRoom(alice, bob);
      const slow = await socketOn(own, bob);
      const tcp = (slow.raw as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      tcp.pause(); // bob's device stops reading: the kernel buffers fill, then the server's
      const body = "€".repeat(4000); // 12 KB of UTF-8 per message
      const total = 700; // ≈ 8 MB: past loopback's socket buffers and the 64 KiB limit
      for (let i = 0; i < total; i += 20) {
        await Promise.all(
          Array.from({ length: Math.min(20, total - i) }, (_, j) =>
            alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: `flood-${String(i + j).padStart(5, "0")}`, body }),
          ),
        );
      }
      tcp.resume();
      expect((await slow.closed).code).toBe(4002);
      const closes = own.logs.filter((line) => line.msg === "closing a slow consumer");
      expect(closes.map((line) => line.cause)).toEqual(["buffer"]); // the live sweep, not a dropped frame
      const seen = messagesIn(slow, room.id).map((event) => event.seq);
      const base = room.lastSeq; // bob's join
      expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => base + i + 1)); // a prefix: nothing skipped
      expect(seen.length).toBeLessThan(total);

      const again = await socketOn(own, bob, positionIn(room, base + seen.length));
      const resumed = again.events.find((event) => event.type === "resumed");
      const replayed = messagesIn(again, room.id).map((event) => event.seq);
      if (resumed?.type === "resumed" && resumed.recovered) expect(replayed.at(-1)).toBe(base + total);
      else expect(resumed).toMatchObject({ recovered: false, missed: { fromSeq: base + seen.length + 1, toSeq: base + total } });
      again.terminate();
      await own.stop();
    }, 90_000);

    /** Opens a socket for `who` as soon as the server admits one (it answers 429 until then). */
    async function socketOnceAdmitted(who: Chatter, timeoutMs: number): Promise<TestSocket> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          return await socketFor(who);
        } catch (error) {
          if ((error as Partial<UpgradeRefusal>).status !== 429 || Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    }

    it("lets one user hold at most 16 sockets on an instance: upgrades racing past it get 429, a typed error and Retry-After", async () => {
      const [alice, bob] = [await chatter("alice"), await chatter("bob")];
      const tickets = await Promise.all(
        Array.from({ length: SOCKETS_PER_USER + 4 }, () => alice.client.api.auth.wsTicket.mutate({})),
      );
      const wsUrl = `${server.url.replace("http", "ws")}/ws`;
      const attempts = await Promise.allSettled(tickets.map(({ ticket }) => openTestSocket(`${wsUrl}?ticket=${ticket}`)));
      const opened = attempts.flatMap((attempt) => (attempt.status === "fulfilled" ? [attempt.value] : []));
      sockets.push(...opened);
      const refused = attempts.flatMap((attempt) => (attempt.status === "rejected" ? [attempt.reason as UpgradeRefusal] : []));
      expect(opened).toHaveLength(SOCKETS_PER_USER);
      expect(refused.map((refusal) => refusal.status)).toEqual([429, 429, 429, 429]);
      for (const refusal of refused) {
        const retryAfter = Number(refusal.headers["retry-after"]);
        expect(retryAfter).toBeGreaterThan(0);
        // @hono/node-server answers a refused upgrade with its status and headers only (Content-Length: 0).
        if (runtime !== "node") {
          expect(JSON.parse(refusal.body)).toEqual({
            error: { code: "TOO_MANY_REQUESTS", message: expect.any(String), retryAfterSeconds: retryAfter },
          });
        }
      }
      await Promise.all(opened.map((socket) => socket.waitFor((event) => event.type === "ready")));
      const bobs = await socketFor(bob); // the cap is per user
      expect(bobs.raw.readyState).toBe(1);
    });

    it("gives a socket's slot back when it closes, and when its upgrade never completes", async () => {
      const [alice, carol] = [await chatter("alice"), await chatter("carol")];
      const open = await Promise.all(Array.from({ length: SOCKETS_PER_USER }, () => socketFor(alice)));
      await expect(socketFor(alice)).rejects.toMatchObject({ status: 429 });
      open[0]?.close();
      await open[0]?.closed;
      const replacement = await socketOnceAdmitted(alice, 5000);
      expect(replacement.raw.readyState).toBe(1);

      // Upgrades the route admits but the runtime cannot complete: their sockets never open, and nothing says so.
      const wsUrl = `${server.url.replace("http", "ws")}/ws`;
      for (let i = 0; i < SOCKETS_PER_USER; i++) {
        const { ticket } = await carol.client.api.auth.wsTicket.mutate({});
        await sendKeylessUpgrade(`${wsUrl}?ticket=${ticket}`);
      }
      await expect(socketFor(carol)).rejects.toMatchObject({ status: 429 }); // each of them took a slot
      const admitted = await socketOnceAdmitted(carol, 15_000); // and gave it back (after 10 s)
      expect(admitted.raw.readyState).toBe(1);
    }, 40_000);

    it("refuses upgrades without a valid unused ticket (401), from foreign origins (403) and without Upgrade (426)", async () => {
      const alice = await chatter("alice");
      const wsUrl = `${server.url.replace("http", "ws")}/ws`;
      const status = (promise: Promise<unknown>): Promise<unknown> =>
        promise.then(() => 101, (error: { status?: number }) => error.status ?? error);
      expect(await status(openTestSocket(wsUrl))).toBe(401);
      expect(await status(openTestSocket(`${wsUrl}?ticket=${"a".repeat(43)}`))).toBe(401);
      expect(await status(openTestSocket(`${wsUrl}?ticket=%00%01`))).toBe(401);

      const { ticket } = await alice.client.api.auth.wsTicket.mutate({});
      expect(await status(openTestSocket(`${wsUrl}?ticket=${ticket}`, { origin: "https://evil.example" }))).toBe(403);
      expect(await status(openTestSocket(`${wsUrl}?ticket=${ticket}`, { origin: "null" }))).toBe(403);
      const accepted = await openTestSocket(`${wsUrl}?ticket=${ticket}`, { origin: TEST_ORIGIN });
      sockets.push(accepted);
      expect(await status(openTestSocket(`${wsUrl}?ticket=${ticket}`, { origin: TEST_ORIGIN }))).toBe(401);
      expect((await fetch(`${server.url}/ws?ticket=${ticket}`)).status).toBe(426);
    });
  });
}
