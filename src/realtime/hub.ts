import type { BucketRule } from "../config.ts";
import type { WSEvents } from "hono/ws";
import type { WsTicketClaims } from "../domain/auth/auth.schema.ts";
import type { Services } from "../domain/services.ts";
import type { EventBus } from "../infra/bus/bus.ts";
import type { Logger } from "../lib/logger.ts";
import { type Connection, createConnection } from "./connection.ts";
import { CloseCode } from "./protocol.ts";
import { createRoomFeeds, type RoomFeeds } from "./room-feeds.ts";
import type { LocalFanout, SocketHandle, SocketIo } from "./socket.ts";

export interface RealtimeHubDeps {
  services: Services;
  bus: EventBus;
  fanout: LocalFanout;
  socketIo: SocketIo;
  logger: Logger;
  resumeMaxMessages: number;
  /** A socket with more than this still queued is too slow: it is closed with 4002 (reconnect and resume). */
  maxBufferedBytes: number;
  frameBudget: BucketRule;
  /** How long an out-of-order message waits for the ones before it before they are read from the database. */
  gapWaitMs?: number;
  /** How often followed rooms are compared with the database, to catch a lost newest message. */
  tailCheckMs: number;
}

export interface RealtimeHub {
  /** The socket handlers for one upgraded, authenticated request. */
  socketEvents(claims: WsTicketClaims): WSEvents;
  /** True once draining started: readiness fails and upgrades are refused. */
  isDraining(): boolean;
  /**
   * Refuses new sockets and closes the open ones with 1012 in batches spread over `durationMs`, so clients
   * reconnect (elsewhere) gradually instead of in one herd.
   */
  drain(durationMs: number): Promise<void>;
  stats(): { connections: number; rooms: number };
  feeds: RoomFeeds;
}

const SLOW_CONSUMER_SWEEP_MS = 500;

export function createRealtimeHub(deps: RealtimeHubDeps): RealtimeHub {
  const logger = deps.logger.child({ component: "realtime" });
  const feeds = createRoomFeeds({
    bus: deps.bus,
    fanout: deps.fanout,
    history: deps.services.messages,
    logger,
    gapWaitMs: deps.gapWaitMs ?? 150,
    tailCheckMs: deps.tailCheckMs,
  });
  /** Open connections, with the socket each writes to. */
  const sockets = new Map<Connection, SocketHandle>();
  let draining = false;

  // A reader that falls behind is cut loose and told to resume, rather than buffered without bound (or, on Bun,
  // silently skipped once past backpressureLimit): at most one sweep interval of growth past the limit.
  const sweep = setInterval(() => {
    for (const [connection, socket] of sockets) {
      if (deps.socketIo.bufferedAmount(socket.raw) > deps.maxBufferedBytes) closeSlow(connection, socket, "buffer over limit");
    }
  }, SLOW_CONSUMER_SWEEP_MS);
  sweep.unref?.(); // the sweep must not keep a stopping process alive

  function closeSlow(connection: Connection, socket: SocketHandle, why: string): void {
    logger.warn("closing a slow consumer", { connectionId: socket.id, userId: connection.userId, why });
    socket.close(CloseCode.SLOW_CONSUMER, "too slow: reconnect and resume");
  }

  // What the bus lost while it was down is read back from the database once it is up again.
  deps.bus.onStatus((status) => {
    if (status !== "up") return;
    feeds.reconcile().catch((error: unknown) => logger.error("could not reconcile rooms after the bus came back", { error }));
  });

  return {
    feeds,
    isDraining: () => draining,
    socketEvents(claims) {
      let connection: Connection | null = null;
      return {
        onOpen: (_event, ws) => {
          const socket = new HubSocket(ws.raw, deps.socketIo, logger);
          if (draining) return socket.close(CloseCode.SERVICE_RESTART, "server restarting");
          const opened = createConnection(socket, claims, { ...deps, feeds, logger });
          connection = opened;
          sockets.set(opened, socket);
          opened.start(claims.resume).catch((error: unknown) => {
            logger.error("could not start a connection", { error, userId: claims.userId });
            opened.close(1011, "could not start");
          });
        },
        onMessage: (event) => connection?.receive(event.data),
        onClose: () => {
          if (!connection) return;
          sockets.delete(connection);
          connection.ended();
        },
        onError: (event) => logger.debug("socket error", { userId: claims.userId, type: event.type }),
      };
    },
    async drain(durationMs) {
      draining = true;
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

/**
 * One native socket as the realtime layer sees it. A class (shared methods, three fields) rather than closures:
 * there is one per connected socket.
 */
class HubSocket implements SocketHandle {
  readonly id = crypto.randomUUID();
  private closing = false;

  constructor(
    readonly raw: unknown,
    private readonly io: SocketIo,
    private readonly logger: Logger,
  ) {}

  /** A socket can close between any two awaits: sending to it then must not throw (Deno's would). */
  send(data: string): void {
    if (this.closing) return;
    let result: "sent" | "dropped";
    try {
      result = this.io.send(this.raw, data);
    } catch (error) {
      this.logger.debug("send on a closing socket", { error });
      return;
    }
    // A frame the runtime dropped would be a silent gap: the client must reconnect and resume instead.
    if (result === "dropped") this.close(CloseCode.SLOW_CONSUMER, "too slow: reconnect and resume");
  }

  /** Only the first close counts: a second one can abort the handshake of the first (Deno drops the TCP). */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    try {
      this.io.close(this.raw, code, reason);
    } catch (error) {
      this.logger.debug("close on a closed socket", { error });
    }
  }
}
