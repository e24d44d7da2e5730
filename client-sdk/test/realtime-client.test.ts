import { once } from "node:events";
import { messageFixture } from "../../test/support/message-fixture.ts";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import type { ClientFrame, LoggedRoomEvent, Message, ResumePositions, ServerEvent } from "../../src/contract.ts";
import type { BackoffOptions } from "../src/realtime/backoff.ts";
import type { NetworkEnvironment } from "../src/realtime/network-watch.ts";
import { ConnectionClosedError, SendRejectedError } from "../src/realtime/outbox.ts";
import { createRealtimeClient, type RetryScheduled, type StateChange } from "../src/realtime/realtime-client.ts";
import type { ParleyApi } from "../src/rpc.ts";

/**
 * The realtime client against a real socket: a `ws` server in this process plays the server's side of the
 * protocol by script. The tRPC API is an injected collaborator; its stub answers the only two procedures the
 * realtime client calls (auth.wsTicket, rooms.events) and records what they were asked.
 */
type Rooms = { roomId: string; lastSeq: number; epoch?: number }[];
type SendFrame = Extract<ClientFrame, { type: "send" }> & { at: number };
type Connection = ReturnType<typeof scripted>;
type Harness = Awaited<ReturnType<typeof setup>>;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

// Generous: it returns as soon as the check passes, and a loaded CI machine can take seconds to run a timer.
const until = (check: () => void): Promise<void> => vi.waitFor(check, { timeout: 10_000, interval: 5 });
/** Long enough to see something that should not happen (a retry, a second socket): ten times the longest backoff. */
const quietPeriod = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 100));
const ROOM: string = crypto.randomUUID();
const message = (seq: number, roomId = ROOM): Message => messageFixture({ id: `m-${seq}`, roomId, seq, sender: { id: "u-1", username: "alice", displayName: "Alice" }, body: `#${seq}`, createdAt: new Date(seq * 1000).toISOString() });
/** The epoch of every room's stream here, unless a spec says otherwise. */
const EPOCH = 42;
const created = (seq: number, roomId = ROOM): Extract<LoggedRoomEvent, { type: "message.created" }> => ({ type: "message.created", roomId, seq, message: message(seq, roomId) });
const ready = (rooms: Rooms = [{ roomId: ROOM, lastSeq: 0 }]): ServerEvent => ({
  type: "ready",
  connectionId: crypto.randomUUID(),
  userId: "u-1",
  rooms: rooms.map((room) => ({ epoch: EPOCH, ...room })),
});
const at = (seq: number, epoch = EPOCH) => ({ seq, epoch });

/** The server's end of one connection: answers pings by itself, records sends (with arrival time), emits by script. */
function scripted(socket: WebSocket) {
  const connection = { socket, sends: [] as SendFrame[], pings: 0, emit: (event: ServerEvent) => socket.send(JSON.stringify(event)) };
  socket.on("message", (data) => {
    const frame = JSON.parse(String(data)) as ClientFrame;
    if (frame.type === "send") connection.sends.push({ ...frame, at: performance.now() });
    if (frame.type !== "ping") return;
    connection.pings += 1;
    connection.emit({ type: "pong" });
  });
  return connection;
}

async function setup(options: { pingIntervalMs?: number; pongTimeoutMs?: number; network?: NetworkEnvironment | null; backoff?: BackoffOptions } = {}) {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await once(wss, "listening");
  const connections: Connection[] = [];
  wss.on("connection", (socket) => connections.push(scripted(socket)));
  const tickets: { resume?: ResumePositions }[] = [];
  const eventQueries: { roomId: string; after: number; limit: number }[] = [];
  let ticketGate: Promise<void> | null = null;
  const wsTicket = async (input: (typeof tickets)[number]): Promise<{ ticket: string }> => {
    tickets.push(input);
    await ticketGate;
    return { ticket: `ticket-${tickets.length}` };
  };
  const events = async (input: (typeof eventQueries)[number]) => {
    eventQueries.push(input); // the log holds the next two messages after `after`
    const page = [1, 2].map((n) => created(input.after + n, input.roomId));
    return { events: page, lastSeq: input.after + 2, epoch: EPOCH, hasMore: false };
  };
  // The realtime client calls exactly these two procedures; the rest of the typed API is never touched.
  const api = { auth: { wsTicket: { mutate: wsTicket } }, rooms: { events: { query: events } } } as unknown as ParleyApi;
  const errors: unknown[] = [];
  const client = createRealtimeClient({
    url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    api,
    WebSocket, // `ws`, as on Node 20: a real client socket
    backoff: { minDelayMs: 1, maxDelayMs: 10 },
    network: null, // no browser here; the specs that want network hints pass their own
    onError: (error) => errors.push(error),
    ...options,
  });
  const states: StateChange[] = [];
  client.on("state", (change) => states.push(change));
  cleanups.push(async () => {
    client.disconnect();
    for (const connection of connections) connection.socket.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });
  const connection = async (index: number): Promise<Connection> => {
    await until(() => expect(connections.length).toBeGreaterThan(index));
    return connections[index]!;
  };
  /** Ticket requests wait until the returned function is called. */
  const holdTickets = (): (() => void) => {
    let release!: () => void;
    ticketGate = new Promise((resolve) => (release = resolve));
    return release;
  };
  return { client, connections, connection, tickets, holdTickets, eventQueries, states, errors };
}

/** Waits for connection `index` (connecting first, for the first) and completes its handshake. */
async function opened(h: Harness, index = 0, rooms?: Rooms): Promise<Connection> {
  if (index === 0) h.client.connect();
  const connection = await h.connection(index);
  connection.emit(ready(rooms));
  await until(() => expect(h.client.state).toBe("open"));
  return connection;
}

async function sent(connection: Connection, index = 0): Promise<SendFrame> {
  await until(() => expect(connection.sends.length).toBeGreaterThan(index));
  return connection.sends[index]!;
}

describe("realtime client: connection state", () => {
  it("goes idle → connecting → open (on `ready` only) → reconnecting → open, and closed on disconnect()", async () => {
    const h = await setup();
    expect(h.client.state).toBe("idle");
    const opening = h.client.whenOpen();
    h.client.connect();
    expect(h.client.state).toBe("connecting");
    const first = await h.connection(0);
    await until(() => expect(first.socket.readyState).toBe(WebSocket.OPEN));
    expect(h.client.state).toBe("connecting"); // the socket is up, but rooms are not attached until `ready`
    first.emit(ready());
    await expect(opening).resolves.toBeUndefined();

    first.socket.close(1012, "restart");
    await until(() => expect(h.client.state).toBe("reconnecting"));
    const second = await h.connection(1);
    expect(h.client.state).toBe("reconnecting");
    second.emit(ready());
    await until(() => expect(h.client.state).toBe("open"));
    await expect(h.client.whenOpen()).resolves.toBeUndefined(); // at once, when already open

    const closedWith = once(second.socket, "close");
    h.client.disconnect();
    expect((await closedWith)[0]).toBe(1000);
    expect(h.states.map(({ previous, state }) => `${previous}→${state}`)).toEqual(["idle→connecting", "connecting→open", "open→reconnecting", "reconnecting→open", "open→closed"]);
    expect(h.states.at(-1)?.reason).toBe("disconnected by the client");
  });

  it("reconnects after a lost connection and asks for a ticket resuming every room from its last seq", async () => {
    const h = await setup();
    const other = crypto.randomUUID();
    const first = await opened(h, 0, [{ roomId: ROOM, lastSeq: 0 }, { roomId: other, lastSeq: 5 }]);
    first.emit(created(1));
    first.emit(created(2));
    await until(() => expect(h.client.position(ROOM)).toBe(2));

    first.socket.terminate(); // no close frame: the link just drops (1006)
    await opened(h, 1);
    expect(h.tickets).toEqual([{ resume: {} }, { resume: { [ROOM]: at(2), [other]: at(5) } }]);
  });

  it.each([
    [4001, "", "session revoked"],
    [1008, "too many bad frames", "closed by the server: too many bad frames"],
  ])("does not reconnect after close code %i; whenOpen() rejects with the reason", async (code, reason, expected) => {
    const h = await setup();
    const opening = h.client.whenOpen();
    h.client.connect();
    (await h.connection(0)).socket.close(1012, "restart"); // a first, retryable close: the client keeps trying
    (await h.connection(1)).socket.close(code, reason);
    await expect(opening).rejects.toThrow(`realtime connection closed: ${expected}`);
    expect(h.states.at(-1)).toEqual({ state: "closed", previous: "reconnecting", reason: expected });
    await quietPeriod();
    expect(h.tickets).toHaveLength(2);
  });

  it("cancels a connection attempt on disconnect(): connect() again opens exactly one socket", async () => {
    const h = await setup();
    const release = h.holdTickets();
    h.client.connect(); // this attempt is still waiting for its ticket when…
    h.client.disconnect();
    h.client.connect();
    await until(() => expect(h.tickets).toHaveLength(2));
    release();
    (await h.connection(0)).emit(ready());
    await until(() => expect(h.client.state).toBe("open"));
    await quietPeriod();
    expect(h.connections).toHaveLength(1);
  });

  it("detects a silent server by its missing pongs, and replaces the connection", async () => {
    // A ping unanswered for pongTimeoutMs is a dead link: 50 ms, not less, or a busy test machine trips it.
    const h = await setup({ pingIntervalMs: 50, pongTimeoutMs: 50 });
    const first = await opened(h);
    await until(() => expect(first.pings).toBeGreaterThanOrEqual(5)); // answered pings keep a live link open
    expect(h.connections).toHaveLength(1);

    first.socket.pause(); // the server stops reading: no pongs, and no answer to a close handshake either
    await opened(h, 1);
    expect(h.states.map(({ state }) => state)).toEqual(["connecting", "open", "reconnecting", "open"]);
  });
});

describe("realtime client: outbox", () => {
  it("transmits a send made while disconnected once `ready` arrives, and resolves it with the ack", async () => {
    const h = await setup();
    const acknowledged = h.client.send(ROOM, "hello");
    h.client.connect();
    const connection = await h.connection(0);
    expect(connection.sends).toEqual([]);
    connection.emit(ready());
    const frame = await sent(connection);
    expect(frame).toMatchObject({ roomId: ROOM, body: "hello", clientMsgId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    connection.emit({ type: "ack", clientMsgId: frame.clientMsgId, message: message(1) });
    await expect(acknowledged).resolves.toEqual(message(1));
  });

  it("re-sends an unacknowledged message after a reconnect with the same clientMsgId", async () => {
    const h = await setup();
    const first = await opened(h);
    const acknowledged = h.client.send(ROOM, "are you there?");
    const { clientMsgId } = await sent(first);
    first.socket.terminate();
    const second = await opened(h, 1);
    expect(await sent(second)).toMatchObject({ clientMsgId, body: "are you there?" });
    second.emit({ type: "ack", clientMsgId, message: message(1) });
    await expect(acknowledged).resolves.toEqual(message(1));
  });

  it("sends a reply or a thread reply with what it answers, and again the same after a reconnect", async () => {
    const h = await setup();
    const first = await opened(h);
    const answers = { replyTo: "11111111-1111-4111-8111-111111111111", threadRootId: "22222222-2222-4222-8222-222222222222", alsoInRoom: true };
    const acknowledged = h.client.send(ROOM, "in the thread", answers);
    const frame = await sent(first);
    expect(frame).toEqual({ type: "send", roomId: ROOM, clientMsgId: expect.any(String), body: "in the thread", ...answers, at: expect.any(Number) });
    first.socket.terminate();
    const second = await opened(h, 1);
    expect(await sent(second)).toMatchObject({ clientMsgId: frame.clientMsgId, ...answers });
    second.emit({ type: "ack", clientMsgId: frame.clientMsgId, message: message(1) });
    await expect(acknowledged).resolves.toEqual(message(1));
  });

  it("rejects a send refused for good with SendRejectedError, and never re-sends it", async () => {
    const h = await setup();
    const first = await opened(h);
    const acknowledged = h.client.send(ROOM, "let me in");
    const { clientMsgId } = await sent(first);
    first.emit({ type: "error", code: "FORBIDDEN", message: "not a member of this room", clientMsgId });
    const error = await acknowledged.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendRejectedError);
    expect(error).toMatchObject({ code: "FORBIDDEN", message: "not a member of this room" });

    first.socket.terminate();
    const second = await opened(h, 1);
    second.emit(created(1)); // a send the client made on `ready` would reach the server before this round trip ends
    await until(() => expect(h.client.position(ROOM)).toBe(1));
    expect(second.sends).toEqual([]);
  });

  it("retries a rate-limited send after retryAfterSeconds, with the same clientMsgId", async () => {
    const h = await setup();
    const connection = await opened(h);
    const acknowledged = h.client.send(ROOM, "slow down?");
    const first = await sent(connection);
    connection.emit({ type: "error", code: "TOO_MANY_REQUESTS", message: "slow down", clientMsgId: first.clientMsgId, retryAfterSeconds: 0.08 });
    const retry = await sent(connection, 1);
    expect(retry).toMatchObject({ clientMsgId: first.clientMsgId, body: "slow down?" });
    expect(retry.at - first.at).toBeGreaterThanOrEqual(75);
    connection.emit({ type: "ack", clientMsgId: first.clientMsgId, message: message(1) });
    await expect(acknowledged).resolves.toEqual(message(1));
  });

  it("fails a send refused by the room's slow mode (the user's to retry), with the reason and the seconds to wait", async () => {
    const h = await setup();
    const connection = await opened(h);
    const acknowledged = h.client.send(ROOM, "again!");
    const { clientMsgId } = await sent(connection);
    connection.emit({
      type: "error",
      code: "TOO_MANY_REQUESTS",
      message: "slow mode: one message every 30 seconds",
      clientMsgId,
      retryAfterSeconds: 0.05,
      reason: "SLOW_MODE",
    });
    const error = await acknowledged.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendRejectedError);
    expect(error).toMatchObject({ code: "TOO_MANY_REQUESTS", reason: "SLOW_MODE", retryAfterSeconds: 0.05 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(connection.sends).toHaveLength(1); // not sent again behind the user's back
  });

  it("fails a send refused because the sender is muted, with the reason", async () => {
    const h = await setup();
    const connection = await opened(h);
    const acknowledged = h.client.send(ROOM, "hello?");
    const { clientMsgId } = await sent(connection);
    connection.emit({ type: "error", code: "FORBIDDEN", message: "muted in this room", clientMsgId, reason: "MUTED" });
    await expect(acknowledged).rejects.toMatchObject({ code: "FORBIDDEN", reason: "MUTED" });
  });
});

describe("realtime client: room streams and handlers", () => {
  it("on `resumed {recovered: false}` moves the position to missed.toSeq and leaves the gap to the app", async () => {
    const h = await setup();
    const resumed: ServerEvent[] = [];
    h.client.on("resumed", (event) => resumed.push(event));
    (await opened(h, 0, [{ roomId: ROOM, lastSeq: 3 }])).socket.terminate();
    const second = await h.connection(1);
    expect(h.tickets[1]).toEqual({ resume: { [ROOM]: at(3) } });
    const event: ServerEvent = { type: "resumed", roomId: ROOM, recovered: false, missed: { fromSeq: 4, toSeq: 40 }, epoch: EPOCH, reset: false };
    second.emit(event);
    await until(() => expect(h.client.position(ROOM)).toBe(40));
    expect(resumed).toEqual([event]);
    second.emit(ready([{ roomId: ROOM, lastSeq: 40 }]));
    second.emit(created(41));
    await until(() => expect(h.client.position(ROOM)).toBe(41));
    expect(h.eventQueries).toEqual([]); // the client did not page over (3, 40] behind the app's back
  });

  it("on a `resumed` reset (another epoch) starts the room over at the server's position, resuming from there next time", async () => {
    const h = await setup();
    (await opened(h, 0, [{ roomId: ROOM, lastSeq: 30 }])).socket.terminate();
    const second = await h.connection(1);
    // The database was restored: the room's log is in another epoch and ends at 12.
    second.emit({ type: "resumed", roomId: ROOM, recovered: false, missed: { fromSeq: 1, toSeq: 12 }, epoch: EPOCH + 1, reset: true });
    await until(() => expect(h.client.position(ROOM)).toBe(12));
    second.emit(ready([{ roomId: ROOM, lastSeq: 12, epoch: EPOCH + 1 }]));
    second.emit(created(13));
    await until(() => expect(h.client.position(ROOM)).toBe(13));
    second.socket.terminate();
    await opened(h, 2, [{ roomId: ROOM, lastSeq: 13, epoch: EPOCH + 1 }]);
    expect(h.tickets[2]).toEqual({ resume: { [ROOM]: at(13, EPOCH + 1) } });
  });

  it("delivers joins and departures through the same stream as messages: once each, in seq order, to their own handlers", async () => {
    const h = await setup();
    const seen: string[] = [];
    for (const type of ["message.created", "member.joined", "member.left", "room.updated"] as const) {
      h.client.on(type, (event) => seen.push(`${event.seq} ${event.type}`));
    }
    const connection = await opened(h);
    const user = { id: "u-2", username: "bob", displayName: "Bob" };
    connection.emit(created(1));
    connection.emit({ type: "member.joined", roomId: ROOM, seq: 2, member: { user, role: "member" } });
    connection.emit({ type: "member.joined", roomId: ROOM, seq: 2, member: { user, role: "member" } }); // a duplicate
    connection.emit({ type: "member.left", roomId: ROOM, seq: 3, userId: user.id, reason: "removed" });
    await until(() => expect(seen).toEqual(["1 message.created", "2 member.joined", "3 member.left"]));
    expect(h.client.position(ROOM)).toBe(3);
    expect(h.eventQueries).toEqual([]);
  });

  it("fills a seq gap in the live stream from rooms.events, delivering in order", async () => {
    const h = await setup();
    const delivered: number[] = [];
    h.client.on("message.created", (event) => delivered.push(event.seq));
    const connection = await opened(h);
    connection.emit(created(1));
    connection.emit(created(4));
    await until(() => expect(delivered).toEqual([1, 2, 3, 4]));
    expect(h.eventQueries).toEqual([{ roomId: ROOM, after: 1, limit: 100 }]);
  });

  it("keeps delivering when a handler throws, and reports the error through onError", async () => {
    const h = await setup();
    const boom = new Error("a buggy handler");
    const delivered: number[] = [];
    h.client.on("message.created", () => {
      throw boom;
    });
    h.client.on("message.created", (event) => delivered.push(event.seq));
    const connection = await opened(h);
    connection.emit(created(1));
    connection.emit(created(2));
    await until(() => expect(delivered).toEqual([1, 2]));
    expect(h.errors).toEqual([boom, boom]);
    expect(h.client.state).toBe("open");
  });
});

describe("realtime client: closing for good", () => {
  it("rejects every pending send with ConnectionClosedError (naming its clientMsgId) on disconnect(); a send after it waits for connect()", async () => {
    const h = await setup();
    const connection = await opened(h);
    const pending = h.client.send(ROOM, "never acknowledged");
    const frame = await sent(connection);
    h.client.disconnect();
    const error = await pending.then(() => expect.unreachable("resolved"), (rejection: unknown) => rejection);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({ clientMsgId: frame.clientMsgId, reason: "disconnected by the client" });

    const later = h.client.send(ROOM, "composed while disconnected");
    h.client.connect();
    const second = await h.connection(1);
    second.emit(ready());
    const resent = await sent(second);
    expect(resent).toMatchObject({ body: "composed while disconnected" });
    second.emit({ type: "ack", clientMsgId: resent.clientMsgId, message: message(1) });
    await expect(later).resolves.toEqual(message(1));
  });

  it("rejects pending sends when the session is revoked (4001), and lets the app resend with the same clientMsgId after connect()", async () => {
    const h = await setup();
    const first = await opened(h);
    const pending = h.client.send(ROOM, "in flight", { clientMsgId: "resend-me-0001" });
    await sent(first);
    first.socket.close(4001, "session revoked");
    await expect(pending).rejects.toMatchObject({ name: "ConnectionClosedError", clientMsgId: "resend-me-0001" });

    h.client.connect();
    const second = await h.connection(1);
    second.emit(ready());
    const again = h.client.send(ROOM, "in flight", { clientMsgId: "resend-me-0001" });
    expect(await sent(second)).toMatchObject({ clientMsgId: "resend-me-0001" });
    second.emit({ type: "ack", clientMsgId: "resend-me-0001", message: message(1) });
    await expect(again).resolves.toEqual(message(1));
  });
});

describe("realtime client: more rooms than one resume map holds", () => {
  it("resumes the rooms past the ticket's 1000 with resume frames after `ready`, never advancing them silently", async () => {
    const h = await setup();
    const rooms: Rooms = Array.from({ length: 2500 }, (_, index) => ({ roomId: crypto.randomUUID(), lastSeq: index + 1 }));
    const first = await opened(h, 0, rooms);
    first.socket.terminate();
    const second = await h.connection(1);
    const resumeFrames: ResumePositions[] = [];
    second.socket.on("message", (data) => {
      const frame = JSON.parse(String(data)) as ClientFrame;
      if (frame.type === "resume") resumeFrames.push(frame.rooms);
    });
    // The server attached every room at the live position, well past what the client saw.
    second.emit(ready(rooms.map(({ roomId, lastSeq }) => ({ roomId, lastSeq: lastSeq + 100 }))));
    await until(() => expect(resumeFrames).toHaveLength(2));

    const ticketed = Object.keys(h.tickets[1]?.resume ?? {});
    expect(ticketed).toHaveLength(1000);
    expect(resumeFrames.map((frame) => Object.keys(frame).length)).toEqual([1000, 500]);
    const framed = new Set(resumeFrames.flatMap((frame) => Object.keys(frame)));
    for (const { roomId, lastSeq } of rooms) {
      if (framed.has(roomId)) {
        // Resumed from where the client was, and still there until the server's `resumed` says otherwise.
        expect(resumeFrames.find((frame) => roomId in frame)?.[roomId]).toEqual(at(lastSeq));
        expect(h.client.position(roomId)).toBe(lastSeq);
      } else {
        expect(ticketed).toContain(roomId);
        expect(h.client.position(roomId)).toBe(lastSeq + 100);
      }
    }
  });
});

describe("realtime client: network hints", () => {
  /** A NetworkEnvironment the spec drives by hand, like the browser's online/offline and visibility events. */
  function fakeNetwork(): NetworkEnvironment & { fire(kind: "online" | "offline" | "visible"): void } {
    let handlers: { online(): void; offline(): void; visible(): void } | null = null;
    return {
      watch(next) {
        handlers = next;
        return () => (handlers = null);
      },
      fire: (kind) => handlers?.[kind](),
    };
  }

  it("drops the socket at once when the browser goes offline, and reconnects at once when it is back online", async () => {
    const network = fakeNetwork();
    const h = await setup({ network });
    await opened(h);
    network.fire("offline");
    expect(h.client.state).toBe("reconnecting");
    // The backoff could be long by now; "online" skips it.
    network.fire("online");
    await opened(h, 1);
    expect(h.connections.length).toBeGreaterThanOrEqual(2);
  });

  it("says when the next reconnect attempt starts (a countdown's source), and attempts at once on reconnectNow()", async () => {
    const h = await setup({ backoff: { minDelayMs: 60_000, maxDelayMs: 60_000 } });
    const retries: RetryScheduled[] = [];
    h.client.on("retry", (retry) => retries.push(retry));
    const first = await opened(h);
    expect(h.client.nextAttemptAt).toBeNull();
    const lostAt = Date.now();
    first.socket.terminate();
    await until(() => expect(retries).toHaveLength(1));
    const [retry] = retries;
    expect(retry).toMatchObject({ attempt: 1 });
    expect(retry!.delayMs).toBeLessThanOrEqual(60_000);
    expect(retry!.at).toBeGreaterThanOrEqual(lostAt + retry!.delayMs);
    expect(h.client.nextAttemptAt).toBe(retry!.at);

    h.client.reconnectNow(); // no minute's wait: the "Retry now" button
    await opened(h, 1);
    expect(h.client.nextAttemptAt).toBeNull();
    h.client.reconnectNow(); // open: nothing to skip
    await quietPeriod();
    expect(h.connections).toHaveLength(2);
  });

  it("pings at once when the page becomes visible, and replaces the socket if the ping goes unanswered", async () => {
    const network = fakeNetwork();
    const h = await setup({ network, pingIntervalMs: 60_000, pongTimeoutMs: 100 });
    const first = await opened(h);
    network.fire("visible");
    await until(() => expect(first.pings).toBe(1));
    first.socket.pause(); // asleep: the next check gets no pong
    network.fire("visible");
    await opened(h, 1);
  });
});
