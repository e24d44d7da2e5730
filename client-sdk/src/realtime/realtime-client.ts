import type { CloseCodes, LoggedRoomEvent, Message, ResumePosition, ServerEvent, ServerEventType } from "../../../src/contract.ts";
import { createEmitter } from "../emitter.ts";
import { isUnauthorized, type ParleyApi, retryAfterSecondsOf } from "../rpc.ts";
import { type BackoffOptions, DEFAULT_BACKOFF, fullJitterDelay } from "./backoff.ts";
import { type BlockedUsers, createBlockedUsers } from "./blocked-users.ts";
import { createLiveRoomView, type LiveRoomView, type LiveRoomViewOptions } from "./live-room-view.ts";
import { createLiveness } from "./liveness.ts";
import { browserNetwork, type NetworkEnvironment } from "./network-watch.ts";
import { createOutbox, newClientMsgId, type PendingSend, SendRejectedError } from "./outbox.ts";
import { createRoomStreams, LOGGED_EVENT_TYPES } from "./room-streams.ts";

/**
 * What the SDK needs of a WebSocket: the browser's, Bun's, Deno's, or the `ws` package's on Node — each passes as
 * it is, no cast. The SDK only ever *assigns* the `on…` handlers, with functions that read no more of an event than
 * declared here; each runtime calls them with its own, richer event (`MessageEvent`, `ws`'s `CloseEvent`, …).
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onmessage: SocketHandler<{ data: unknown }> | null;
  onclose: SocketHandler<{ code: number; reason: string }> | null;
  onerror: SocketHandler<unknown> | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * A handler whose parameter is compared bivariantly, as a method's is: a socket's `(ev: MessageEvent) => any` is a
 * `SocketHandler<{ data: unknown }>`. (A plain function type is compared contravariantly under strictFunctionTypes,
 * and no runtime's handler accepts an event that has only `data`.) Sound here because the SDK is the only writer.
 */
export type SocketHandler<TEvent> = { handle(event: TEvent): void }["handle"];

/**
 * idle → connecting → open ⇄ reconnecting → … → closed. `open` means the server said `ready`: every room is
 * attached and every resumed room replayed. `closed` is final until `connect()` is called again.
 */
export type RealtimeState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export type StateChange = { state: RealtimeState; previous: RealtimeState; reason: string | null };

/** A reconnect is scheduled: the next attempt starts at `at` (epoch ms), `delayMs` from now (a countdown's source). */
export type RetryScheduled = { attempt: number; delayMs: number; at: number };

export type RealtimeEvents = { [K in ServerEventType]: Extract<ServerEvent, { type: K }> } & { state: StateChange; retry: RetryScheduled };

/** How a realtime send is sent: its idempotency key (to retry a send yourself) and what it answers. */
export interface SendOptions {
  /** Chosen for you when absent; pass the one of an earlier attempt to send it again safely. */
  clientMsgId?: string;
  /** A message of the same room to quote. */
  replyTo?: string;
  /** A main-timeline message of the same room whose thread this joins. */
  threadRootId?: string;
  /** A thread reply also shown on the main timeline. */
  alsoInRoom?: boolean;
  /** Completed uploads (files.createUpload, then files.complete) for this room, ≤ 10; the body may then be "". */
  attachments?: string[];
}

export interface RealtimeClient {
  readonly state: RealtimeState;
  /** While waiting to reconnect: when the next attempt starts (epoch ms); null otherwise. A `retry` event says when it is set. */
  readonly nextAttemptAt: number | null;
  /** Skips the wait before the next reconnect attempt (a "Retry now" button); nothing when no attempt is waiting. */
  reconnectNow(): void;
  /** Connects, and keeps reconnecting (with full-jitter backoff) and resuming until `disconnect()`. */
  connect(): void;
  disconnect(): void;
  /** Resolves once the connection is open (`ready` received); rejects if it closes for good first. */
  whenOpen(): Promise<void>;
  on<K extends keyof RealtimeEvents>(type: K, handler: (event: RealtimeEvents[K]) => void): () => void;
  /**
   * Sends a message; retried with the same clientMsgId across reconnects until acknowledged after its commit.
   * Rejects with SendRejectedError when the server refuses it for good, and with ConnectionClosedError (which names
   * the clientMsgId, to send again with) when the connection closes for good first. A send made before connect()
   * (or after a close for good) waits for the next connect().
   */
  send(roomId: string, body: string, options?: SendOptions): Promise<Message>;
  /** Ephemeral: dropped when not connected. */
  typing(roomId: string, active: boolean): void;
  /** The seq of the last room event (message, join, edit, …) delivered for the room. */
  position(roomId: string): number | undefined;
  /** Tells the stream the app already has history through `seq` (e.g. after paging `messages.list`). */
  advance(roomId: string, seq: number): void;
  /**
   * A live view of one room: its newest page through `messages.list`, then every event the room's stream delivers
   * (edits, deletions, reactions, pins, thread replies), started over from a fresh page when events were skipped.
   * It does not connect; events flow while the connection is open. `close()` it when done.
   */
  view(roomId: string, options?: LiveRoomViewOptions): LiveRoomView;
  /** The people I blocked (users.blocked, kept current by block.updated): room views flag their messages with it. */
  readonly blocked: BlockedUsers;
}

export interface RealtimeOptions {
  url: string;
  api: ParleyApi;
  WebSocket: WebSocketConstructor;
  backoff?: BackoffOptions;
  /** How often the client pings (default 25 s). */
  pingIntervalMs?: number;
  /** A ping unanswered for this long means a dead link: the socket is replaced (default 10 s). */
  pongTimeoutMs?: number;
  /**
   * Hints to check the connection at once: the browser's online/offline events and the page becoming visible.
   * Default: the browser's, where there is one; null turns them off.
   */
  network?: NetworkEnvironment | null;
  /**
   * How often the highest delivered seq per room is reported (the `delivered` frame that moves the member's
   * delivered watermark). 0 turns delivery receipts off. Default 1000 ms.
   */
  deliveredReportMs?: number;
  /** Whether a session is held (parley-client's tokens): signed out, the blocked set is not read (it would be a 401). */
  signedIn?(): boolean;
  onError?(error: unknown): void;
}

/** Mirrors the server's close codes; `satisfies` makes the compiler reject any drift from the server's values. */
const CLOSE = { POLICY: 1008, AUTH_REVOKED: 4001 } as const satisfies Partial<CloseCodes>;
/** Client-initiated close after missed pongs (4000–4999 is the application range). */
const CLOSE_UNRESPONSIVE = 4000;
const RETRYABLE = new Set(["TOO_MANY_REQUESTS", "UNAVAILABLE", "INTERNAL"]);
/** Rooms per resume map (the ticket's, or one `resume` frame's): the server's limit. */
const MAX_RESUME_ROOMS = 1000;
const isLogged = (event: ServerEvent): event is LoggedRoomEvent => Object.hasOwn(LOGGED_EVENT_TYPES, event.type);

export function createRealtimeClient(options: RealtimeOptions): RealtimeClient {
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const pingIntervalMs = options.pingIntervalMs ?? 25_000;
  const network = options.network === undefined ? browserNetwork() : options.network;
  let unwatchNetwork: (() => void) | null = null;
  /** Rooms with a known position that did not fit the ticket's resume map: resumed by frames after `ready`. */
  let resumeLater = new Map<string, ResumePosition>();
  const reportError = options.onError ?? (() => {});
  const emitter = createEmitter<RealtimeEvents>(reportError);
  const outbox = createOutbox();
  const streams = createRoomStreams({
    fetchAfter: (roomId, afterSeq, limit) => options.api.rooms.events.query({ roomId, after: afterSeq, limit }),
    deliver: (event) => {
      if (event.type === "message.created" && event.message.sender.id !== userId) {
        unreported.set(event.roomId, Math.max(unreported.get(event.roomId) ?? 0, event.seq));
      }
      emitter.emit(event.type, event as never);
    },
    // What the server says to a client resuming across a restore, said here for a gap fill that found one.
    onReset: (roomId, position) =>
      emitter.emit("resumed", { type: "resumed", roomId, recovered: false, missed: position.seq > 0 ? { fromSeq: 1, toSeq: position.seq } : null, epoch: position.epoch, reset: true }),
    onFillError: (_roomId, error) => reportError(error),
  });
  const deliveredReportMs = options.deliveredReportMs ?? 1000;
  /** Delivered seqs not yet reported, per room: coalesced into one `delivered` frame per interval. */
  const unreported = new Map<string, number>();
  /** Known from `ready`: a device does not report delivery of its own user's messages. */
  let userId: string | null = null;
  const blocked = createBlockedUsers({
    async list() {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await options.api.users.blocked.query({ limit: 200, ...(cursor ? { cursor } : {}) });
        ids.push(...page.items.map((item) => item.user.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return ids;
    },
    ...(options.signedIn ? { signedIn: options.signedIn } : {}),
    onError: reportError,
  });
  let deliveryReports: ReturnType<typeof setInterval> | null = null;
  let state: RealtimeState = "idle";
  let socket: WebSocketLike | null = null;
  let wanted = false;
  let attempt = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  let nextAttemptAt: number | null = null;
  const liveness = createLiveness({
    pingIntervalMs,
    pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
    socket: () => socket,
    dead: (ws) => {
      // A dead link never completes the close handshake (`ws` waits 30 s for it): let go of it and reconnect now.
      ws.close(CLOSE_UNRESPONSIVE, "no pong");
      closed(CLOSE_UNRESPONSIVE, "no pong");
    },
  });
  /** Bumped by every final close: a connection attempt begun before it must not open a socket after it. */
  let generation = 0;

  function setState(next: RealtimeState, reason: string | null = null): void {
    if (next === state) return;
    const previous = state;
    state = next;
    emitter.emit("state", { state: next, previous, reason });
  }

  function transmit(frame: Record<string, unknown>): boolean {
    if (state !== "open" || !socket || socket.readyState !== 1) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function transmitSend(pending: PendingSend): void {
    transmit({ type: "send", ...pending });
  }

  async function open(): Promise<void> {
    setState(attempt === 0 && state !== "reconnecting" ? "connecting" : "reconnecting");
    const attemptGeneration = generation;
    let ticket: string;
    try {
      // More rooms than one resume map holds: the rest are resumed by `resume` frames once the socket is ready,
      // never silently advanced to the live position (which would skip what they missed).
      const known = Object.entries(streams.positions());
      resumeLater = new Map(known.slice(MAX_RESUME_ROOMS));
      ticket = (await options.api.auth.wsTicket.mutate({ resume: Object.fromEntries(known.slice(0, MAX_RESUME_ROOMS)) })).ticket;
    } catch (error) {
      if (attemptGeneration !== generation) return;
      if (isUnauthorized(error)) return finish("unauthenticated");
      reportError(error);
      const retryAfterSeconds = retryAfterSecondsOf(error);
      return scheduleReconnect(retryAfterSeconds === null ? null : Math.min(retryAfterSeconds * 1000, backoff.maxDelayMs));
    }
    if (attemptGeneration !== generation) return; // disconnect() came first (and maybe a new connect())
    const url = new URL("/ws", options.url);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("ticket", ticket);
    const ws = new options.WebSocket(url.toString());
    socket = ws;
    liveness.heard();
    ws.onmessage = (event) => {
      if (socket === ws && typeof event.data === "string") receive(event.data);
    };
    ws.onerror = () => {}; // a close event always follows
    ws.onclose = (event) => {
      if (socket === ws) closed(event.code, event.reason);
    };
    liveness.start();
    unwatchNetwork ??= network?.watch({ online: reconnectNow, offline: dropForNetwork, visible: checkNowOrReconnect }) ?? null;
    if (deliveredReportMs > 0) deliveryReports ??= setInterval(reportDelivered, deliveredReportMs);
  }

  function reportDelivered(): void {
    if (unreported.size === 0) return;
    if (transmit({ type: "delivered", rooms: Object.fromEntries(unreported) })) unreported.clear();
  }

  /** The network is back (or the page visible again while reconnecting): try now, not at the next backoff step. */
  function reconnectNow(): void {
    if (!wanted || state !== "reconnecting" || socket) return;
    if (reconnectTimer) clearTimeout(reconnectTimer);
    reconnectTimer = null;
    nextAttemptAt = null;
    attempt = 0;
    void open();
  }

  /** The browser says it is offline: the socket cannot be working; say so at once and wait for "online". */
  function dropForNetwork(): void {
    const ws = socket;
    if (!wanted || !ws) return;
    ws.close(CLOSE_UNRESPONSIVE, "network offline");
    closed(CLOSE_UNRESPONSIVE, "network offline");
  }

  function checkNowOrReconnect(): void {
    if (state === "reconnecting") return reconnectNow();
    liveness.checkNow();
  }

  function receive(raw: string): void {
    liveness.heard();
    let event: ServerEvent;
    try {
      event = JSON.parse(raw) as ServerEvent;
    } catch (error) {
      return reportError(error);
    }
    if (isLogged(event)) return streams.accept(event); // emitted by the stream, in seq order
    switch (event.type) {
      case "ready":
        if (userId !== null && userId !== event.userId) blocked.reset(); // another account signed in on this client
        userId = event.userId;
        blocked.ready();
        for (const room of event.rooms) if (!resumeLater.has(room.roomId)) streams.advance(room.roomId, room.lastSeq, room.epoch);
        attempt = 0;
        setState("open");
        resumeOverflow();
        for (const pending of outbox.pending()) transmitSend(pending);
        break;
      case "ack":
        outbox.acknowledge(event.clientMsgId, event.message);
        break;
      case "block.updated":
        blocked.updated(event);
        break;
      case "error":
        if (event.clientMsgId && outbox.has(event.clientMsgId)) retryOrReject(event);
        break;
      case "resumed":
        // A reset (another epoch) starts the stream over at the server's position; a budget overrun skips to it.
        streams.advance(event.roomId, event.missed?.toSeq ?? 0, event.epoch);
        break;
      case "room.membership":
        if (event.membership === "joined" && event.room) streams.advance(event.roomId, event.room.lastSeq, event.room.epoch);
        else if (event.membership !== "joined") streams.forget(event.roomId);
        break;
    }
    emitter.emit(event.type, event as never);
  }

  function retryOrReject(event: Extract<ServerEvent, { type: "error" }>): void {
    const clientMsgId = event.clientMsgId as string;
    // Slow mode is the room's rule, not the server's load: retrying on our own would post for the user later.
    if (!RETRYABLE.has(event.code) || event.reason === "SLOW_MODE") {
      return outbox.reject(clientMsgId, new SendRejectedError(event.code, event.message, event.reason ?? null, event.retryAfterSeconds ?? null));
    }
    const pending = outbox.pending().find((send) => send.clientMsgId === clientMsgId);
    const delay = (event.retryAfterSeconds ?? 1) * 1000;
    if (pending) setTimeout(() => transmitSend(pending), delay);
  }

  function closed(code: number, reason: string): void {
    socket = null;
    liveness.forget();
    if (!wanted) return finish(reason || "disconnected");
    if (code === CLOSE.AUTH_REVOKED) return finish("session revoked");
    if (code === CLOSE.POLICY) return finish(`closed by the server: ${reason || "policy violation"}`);
    scheduleReconnect();
  }

  /** `retryAfterMs`: the server said when (a refused ticket): come back then, spread over the next as long again. */
  function scheduleReconnect(retryAfterMs: number | null = null): void {
    if (!wanted) return;
    setState("reconnecting");
    const delay = retryAfterMs === null ? fullJitterDelay(attempt, backoff) : retryAfterMs + Math.floor(Math.random() * retryAfterMs);
    attempt += 1;
    nextAttemptAt = Date.now() + delay;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      nextAttemptAt = null;
      void open();
    }, delay);
    emitter.emit("retry", { attempt, delayMs: delay, at: nextAttemptAt });
  }

  /** The rooms the ticket's map had no room for, in frames of at most MAX_RESUME_ROOMS: each gets its `resumed`. */
  function resumeOverflow(): void {
    const rooms = [...resumeLater];
    resumeLater = new Map();
    for (let from = 0; from < rooms.length; from += MAX_RESUME_ROOMS) {
      transmit({ type: "resume", rooms: Object.fromEntries(rooms.slice(from, from + MAX_RESUME_ROOMS)) });
    }
  }

  function finish(reason: string): void {
    wanted = false;
    generation += 1;
    unwatchNetwork?.();
    unwatchNetwork = null;
    liveness.stop();
    outbox.abandon(reason);
    if (reconnectTimer) clearTimeout(reconnectTimer);
    if (deliveryReports) clearInterval(deliveryReports);
    reconnectTimer = null;
    nextAttemptAt = null;
    deliveryReports = null;
    const ws = socket;
    socket = null;
    ws?.close(1000, "client disconnect");
    setState("closed", reason);
  }

  const client: RealtimeClient = {
    get state() {
      return state;
    },
    get nextAttemptAt() {
      return nextAttemptAt;
    },
    reconnectNow,
    connect() {
      if (wanted) return;
      wanted = true;
      attempt = 0;
      void open();
    },
    disconnect: () => finish("disconnected by the client"),
    whenOpen: () =>
      new Promise((resolve, reject) => {
        if (state === "open") return resolve();
        const off = emitter.on("state", ({ state: next, reason }) => {
          if (next === "open") resolve();
          else if (next === "closed") reject(new Error(`realtime connection closed: ${reason ?? "unknown"}`));
          else return;
          off();
        });
      }),
    on: (type, handler) => emitter.on(type, handler),
    send(roomId, body, sendOptions = {}) {
      const clientMsgId = sendOptions.clientMsgId ?? newClientMsgId();
      // Before connect(), or after a close for good: kept, like a send made while reconnecting, and sent once the
      // next connect() is open (or rejected with ConnectionClosedError if that connection closes for good first).
      const { clientMsgId: _chosen, ...answers } = sendOptions;
      const pending: PendingSend = { clientMsgId, roomId, body, ...answers };
      const acknowledged = outbox.add(pending);
      transmitSend(pending);
      return acknowledged;
    },
    typing: (roomId, active) => void transmit({ type: "typing", roomId, active }),
    position: (roomId) => streams.position(roomId),
    advance: (roomId, seq) => streams.advance(roomId, seq),
    view: (roomId, viewOptions = {}) =>
      createLiveRoomView({
        ...viewOptions,
        roomId,
        realtime: client,
        api: {
          listMessages: (input) => options.api.messages.list.query(input),
          thread: (input) => options.api.messages.thread.query(input),
          me: () => options.api.auth.me.query(),
        },
        userId: () => userId,
        blocked,
        onError: reportError,
      }),
    blocked,
  };
  return client;
}
