import { trpcServer } from "@hono/trpc-server";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { UpgradeWebSocket } from "hono/ws";
import type { Deps } from "./deps.ts";
import { createRealtimeHub, type RealtimeHub } from "./realtime/hub.ts";
import type { LocalFanout, SocketIo } from "./realtime/socket.ts";
import { healthRoutes } from "./transport/http/health.ts";
import { requestLog } from "./transport/http/request-log.ts";
import { websocketRoute } from "./transport/http/websocket-route.ts";
import { appRouter } from "./transport/trpc/app-router.ts";
import { createHttpContext } from "./transport/trpc/context.ts";

/** What each runtime supplies: the only runtime-specific pieces the app needs. */
export interface RuntimeBindings {
  upgradeWebSocket: UpgradeWebSocket;
  /** Passed to `upgradeWebSocket` as its options (Deno: `idleTimeout`). */
  upgradeOptions?: Record<string, unknown>;
  /** Bun's native topics, or the in-memory registry on Deno and Node. */
  fanout: LocalFanout;
  /** Writes to native sockets and reads their send buffers. */
  socketIo: SocketIo;
  /** The address of the peer that opened this request's connection. */
  remoteAddress(c: Context): string | null;
}

const HTTP_ERROR_CODES: Record<number, string> = { 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 413: "PAYLOAD_TOO_LARGE" };

/** tRPC request bodies above this are refused with 413 before they are parsed. */
const MAX_TRPC_BODY_BYTES = 256 * 1024;

/** The Hono app: /trpc, /ws and health. Knows no runtime; `runtime` brings what differs between them. */
export function createApp(deps: Deps, runtime: RuntimeBindings): { app: Hono; hub: RealtimeHub } {
  const { config, services, logger } = deps;
  const hub = createRealtimeHub({
    services,
    bus: deps.bus,
    fanout: runtime.fanout,
    socketIo: runtime.socketIo,
    maxBufferedBytes: config.wsMaxBufferedBytes,
    stallTimeoutMs: config.wsStallTimeoutMs,
    maxSocketsPerUser: config.wsMaxSocketsPerUser,
    tailCheckMs: config.roomTailCheckMs,
    logger,
    resumeMaxMessages: config.resumeMaxMessages,
    frameBudget: config.wsFrameBudget,
  });
  const clientIp = (c: Context): string | null =>
    (config.clientIpHeader ? c.req.header(config.clientIpHeader) : undefined) ?? runtime.remoteAddress(c);
  const allowedOrigins = config.allowedOrigins;

  const app = new Hono();
  app.use("*", requestLog(logger));
  app.use("*", secureHeaders({ crossOriginResourcePolicy: "same-site" }));
  app.route("/", healthRoutes({ database: deps.database, busStatus: deps.busStatus, hub }));

  app.use(
    "/trpc/*",
    cors({
      origin: (origin) => (allowedOrigins.includes(origin) ? origin : null),
      credentials: true,
      allowMethods: ["GET", "POST", "OPTIONS"],
      allowHeaders: ["content-type", "authorization", "trpc-accept", "x-trpc-source"],
      maxAge: 600,
    }),
    csrf({ origin: [...allowedOrigins] }),
    bodyLimit({
      maxSize: MAX_TRPC_BODY_BYTES,
      onError: (c) => c.json({ error: { code: "PAYLOAD_TOO_LARGE", message: `body over ${MAX_TRPC_BODY_BYTES} bytes` } }, 413),
    }),
    trpcServer({
      router: appRouter,
      createContext: (_options, c) =>
        createHttpContext(c, { services, allowedOrigins, cookieSecure: config.cookieSecure, clientIp }),
      onError: ({ error, path }) => {
        // Typed client errors are answers, not incidents; anything that became a 500 is a bug worth a log line.
        if (error.code === "INTERNAL_SERVER_ERROR") logger.error("procedure failed", { path, error: error.cause ?? error });
      },
    }),
  );

  app.route("/", websocketRoute({ services, hub, allowedOrigins, upgradeWebSocket: runtime.upgradeWebSocket, upgradeOptions: runtime.upgradeOptions }));

  app.notFound((c) => c.json({ error: { code: "NOT_FOUND", message: "no such route" } }, 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      // Middleware refusals (csrf's plain-text 403, …) get the same typed JSON shape as every other error.
      const code = HTTP_ERROR_CODES[error.status] ?? "BAD_REQUEST";
      return c.json({ error: { code, message: error.message || "request refused" } }, error.status);
    }
    logger.error("unhandled request error", { error, path: c.req.path });
    return c.json({ error: { code: "INTERNAL", message: "internal error" } }, 500);
  });
  return { app, hub };
}
