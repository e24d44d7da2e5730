import type { BucketRule } from "../config.ts";
import type { WSEvents } from "hono/ws";
import type { WsTicketClaims } from "../domain/auth/auth.schema.ts";
import type { Services } from "../domain/services.ts";
import type { EventBus } from "../infra/bus/bus.ts";
import type { Logger } from "../lib/logger.ts";
import { createConcurrencyLimit } from "../lib/concurrency.ts";
import { type Connection, type ConnectionDeps, createConnection } from "./connection.ts";
import type { RealtimeCounters, SlowConsumerCause } from "./counters.ts";
import { CloseCode } from "./protocol.ts";
import { createPresenceScreen } from "./presence-screen.ts";
import { createRoomFeeds, type RoomFeeds } from "./room-feeds.ts";
import type { LocalFanout, SendResult, SocketHandle, SocketIo } from "./socket.ts";
import { UserSocketSlots } from "./socket-slots.ts";

export interface RealtimeHubDeps extends RealtimeCounters {
  services: Services;
  bus: EventBus;
  fanout: LocalFanout;
  socketIo: SocketIo;
  logger: Logger;
  resumeMaxMessages: number;
  /** A socket with more than this still queued is too slow: it is closed with 4002 (reconnect and resume). */
  maxBufferedBytes: number;
  /** A replay gives up on a socket whose queue has not drained at all for this long: closed with 4002. */
  stallTimeoutMs: number;
  /** Sockets one user may hold on this instance (open or upgrading); further upgrades are refused. */
  maxSocketsPerUser: number;
  frameBudget: BucketRule;
  /** How long an out-of-order message waits for the ones before it before they are read from the database. */
  gapWaitMs?: number;
  /** How often followed rooms are compared with the database, to catch a lost newest message. */
  tailCheckMs: number;
}

/** An authenticated upgrade, let in with its socket handlers or refused. */
export type Admission =
  | { admitted: true; events: WSEvents }
  | { admitted: false; reason: "per_user_cap"; retryAfterSeconds: number };

export interface RealtimeHub {
  /**
   * Lets one authenticated upgrade in: takes one of the user's socket slots — given back when the socket closes,
   * or if it never opens — and returns its handlers; refused while the user holds `maxSocketsPerUser` here.
   * Synchronous between the check and the count, so concurrent upgrades cannot overshoot.
   */
  admit(claims: WsTicketClaims): Admission;
  /** True once draining started: readiness fails and upgrades are refused. */
  isDraining(): boolean;
  /** While draining: whole seconds until this instance has closed its sockets and stops (at least 1). Else null. */
  drainingFor(): number | null;
  /**
   * Refuses new sockets and closes the open ones with 1012 in batches spread over `durationMs`, so clients
   * reconnect (elsewhere) gradually instead of in one herd.
   */
  drain(durationMs: number): Promise<void>;
  stats(): { connections: number; rooms: number };
  feeds: RoomFeeds;
}

const SLOW_CONSUMER_SWEEP_MS = 500;
/** An upgrade whose socket has not opened after this long gave up (the client left mid-handshake): its slot is freed. */
const UPGRADE_OPEN_TIMEOUT_MS = 10_000;
/** Told to a user refused for holding too many sockets: idle ones are pinged and closed within the idle timeout. */
const SOCKET_CAP_RETRY_AFTER_SECONDS = 10;

/**
 * Connections starting (subscribing, reading rooms, replaying, presence) at once; the rest wait in arrival order.
 * After a restart thousands of clients come back together: this bounds the work (and replay memory) in flight.
 */
const STARTS_IN_FLIGHT = 32;
/** A start still running after this long (a replay waiting for a slow reader) lets the next one begin. */
const START_HOLD_MS = 1000;

export function createRealtimeHub(deps: RealtimeHubDeps): RealtimeHub {
  const logger = deps.logger.child({ component: "realtime" });
  const screen = createPresenceScreen();
  const feeds = createRoomFeeds({
    bus: deps.bus,
    fanout: deps.fanout,
    history: deps.services.roomLog,
    logger,
    gapWaitMs: deps.gapWaitMs ?? 150,
    tailCheckMs: deps.tailCheckMs,
    checkReaders,
    onDelivered: (sockets) => deps.onDelivered?.("room", sockets),
    withheld: screen.withheld,
  });
  /** Open connections, with the socket each writes to. */
  const sockets = new Map<Connection, SocketHandle>();
  const slots = new UserSocketSlots(deps.maxSocketsPerUser);
  const starts = createConcurrencyLimit(STARTS_IN_FLIGHT, { maxHoldMs: START_HOLD_MS });
  let draining = false;
  let drainEndsAt = 0;
  /** What every socket shares: one object, not a copy per socket. */
  const shared: HubSocketShared = {
    io: deps.socketIo,
    logger,
    onDropped: (socket) => closeSlow(socket, null, "dropped"),
    onSent: () => deps.onDelivered?.("direct", 1),
  };
  const connectionDeps: ConnectionDeps = {
    services: deps.services,
    bus: deps.bus,
    feeds,
    fanout: deps.fanout,
    logger,
    frameBudget: deps.frameBudget,
    screen,
    history: deps.services.roomLog,
    resumeMaxMessages: deps.resumeMaxMessages,
    maxBufferedBytes: deps.maxBufferedBytes,
    stallTimeoutMs: deps.stallTimeoutMs,
    closeStalled: (target) => closeSlow(target.socket, target.userId, "replay_stalled"),
    onResume: (result) => deps.onResume?.(result),
  };

  // A reader that falls behind is cut loose and told to resume, rather than buffered without bound (or, on Bun,
  // dropped without a close frame once past backpressureLimit): at most one sweep interval of growth past the limit.
  const sweep = setInterval(() => {
    for (const [connection, socket] of sockets) {
      if (socket.bufferedAmount() > deps.maxBufferedBytes) closeSlow(socket, connection.userId, "buffer");
    }
  }, SLOW_CONSUMER_SWEEP_MS);
  sweep.unref?.(); // the sweep must not keep a stopping process alive

  /** After a gap fill's burst to a room: its sockets now over the limit are closed before the next burst. */
  function checkReaders(roomId: string): void {
    for (const [connection, socket] of sockets) {
      if (connection.inRoom(roomId) && socket.bufferedAmount() > deps.maxBufferedBytes) closeSlow(socket, connection.userId, "gap_fill");
    }
  }

  /** Closes a socket with 4002 — once: what is already queued still goes out before the close frame. */
  function closeSlow(socket: SocketHandle, userId: string | null, cause: SlowConsumerCause): void {
    if (socket.closing) return;
    logger.warn("closing a slow consumer", { connectionId: socket.id, userId, cause, buffered: socket.bufferedAmount() });
    deps.onSlowConsumerClose?.(cause);
    socket.close(CloseCode.SLOW_CONSUMER, "too slow: reconnect and resume");
  }

  /** The handlers of one admitted socket; it holds one of its user's slots until it closes (or never opens). */
  function socketEvents(claims: WsTicketClaims): WSEvents {
    const { userId } = claims;
    let connection: Connection | null = null;
    let holdsSlot = true;
    let unopened: ReturnType<typeof setTimeout> | null = null;
    const giveBackSlot = (): void => {
      if (unopened) clearTimeout(unopened);
      unopened = null;
      if (!holdsSlot) return;
      holdsSlot = false;
      slots.give(userId);
    };
    unopened = setTimeout(giveBackSlot, UPGRADE_OPEN_TIMEOUT_MS);
    unopened.unref?.(); // a pending upgrade must not keep a stopping process alive
    return {
      onOpen: (_event, ws) => {
        const socket = new HubSocket(ws.raw, shared);
        if (unopened) {
          clearTimeout(unopened);
          unopened = null;
        } else if (!holdsSlot) {
          // Opened after its slot was given back as abandoned: it needs one again.
          if (slots.take(userId) === "full") return socket.close(CloseCode.TRY_AGAIN_LATER, "too many sockets for this user");
          holdsSlot = true;
        }
        if (draining) return socket.close(CloseCode.SERVICE_RESTART, "server restarting");
        const opened = createConnection(socket, claims, connectionDeps);
        connection = opened;
        sockets.set(opened, socket);
        starts.run(() => opened.start(claims.resume)).catch((error: unknown) => {
          logger.error("could not start a connection", { error, userId });
          opened.close(1011, "could not start");
        });
      },
      onMessage: (event) => connection?.receive(event.data),
      onClose: () => {
        giveBackSlot();
        if (!connection) return;
        sockets.delete(connection);
        connection.ended();
      },
      onError: (event) => logger.debug("socket error", { userId, type: event.type }),
    };
  }

  // What the bus lost while it was down is read back from the database once it is up again.
  deps.bus.onStatus((status) => {
    if (status !== "up") return;
    feeds.reconcile().catch((error: unknown) => logger.error("could not reconcile rooms after the bus came back", { error }));
  });

  return {
    feeds,
    isDraining: () => draining,
    drainingFor: () => (draining ? Math.max(1, Math.ceil((drainEndsAt - performance.now()) / 1000)) : null),
    admit(claims) {
      if (slots.take(claims.userId) === "full") {
        logger.debug("refused a socket over the per-user cap", { userId: claims.userId, max: deps.maxSocketsPerUser });
        deps.onSocketRefused?.("per_user_cap");
        return { admitted: false, reason: "per_user_cap", retryAfterSeconds: SOCKET_CAP_RETRY_AFTER_SECONDS };
      }
      return { admitted: true, events: socketEvents(claims) };
    },
    async drain(durationMs) {
      draining = true;
      drainEndsAt = performance.now() + durationMs;
      clearInterval(sweep);
      feeds.close();
      const open = [...sockets.keys()];
      const batches = Math.max(1, Math.min(20, open.length));
      const pause = open.length > 1 ? durationMs / batches : 0;
      for (let batch = 0; batch < batches; batch++) {
        const from = Math.floor((batch * open.length) / batches);
        const to = Math.floor(((batch + 1) * open.length) / batches);
        for (const connection of open.slice(from, to)) connection.close(CloseCode.SERVICE_RESTART, "server restarting");
        if (batch < batches - 1) await new Promise((resolve) => setTimeout(resolve, pause));
      }
    },
    stats: () => ({ connections: sockets.size, rooms: feeds.rooms().length }),
  };
}

interface HubSocketShared {
  io: SocketIo;
  logger: Logger;
  /** The runtime refused a frame (its buffer is full): the socket must be closed, never left with a gap. */
  onDropped(socket: HubSocket): void;
  /** A frame went to this one socket (for metrics). */
  onSent(): void;
}

/**
 * One native socket as the realtime layer sees it. A class (shared methods, three fields) rather than closures:
 * there is one per connected socket.
 */
class HubSocket implements SocketHandle {
  readonly id = crypto.randomUUID();
  private isClosing = false;

  constructor(
    readonly raw: unknown,
    private readonly shared: HubSocketShared,
  ) {}

  get closing(): boolean {
    return this.isClosing;
  }

  send(data: string): void {
    if (this.write(data)) this.shared.onSent();
  }

  sendPublished(data: string): void {
    this.write(data);
  }

  /** A socket can close between any two awaits: sending to it then must not throw (Deno's would). */
  private write(data: string): boolean {
    if (this.isClosing) return false;
    let result: SendResult;
    try {
      result = this.shared.io.send(this.raw, data);
    } catch (error) {
      this.shared.logger.debug("send on a closing socket", { error });
      return false;
    }
    // A frame the runtime dropped would be a silent gap: the client must reconnect and resume instead.
    if (result === "dropped") this.shared.onDropped(this);
    return result === "sent";
  }

  bufferedAmount(): number {
    return this.shared.io.bufferedAmount(this.raw);
  }

  /** Only the first close counts: a second one can abort the handshake of the first (Deno drops the TCP). */
  close(code: number, reason: string): void {
    if (this.isClosing) return;
    this.isClosing = true;
    try {
      this.shared.io.close(this.raw, code, reason);
    } catch (error) {
      this.shared.logger.debug("close on a closed socket", { error });
    }
  }
}
