import { trpcServer } from "@hono/trpc-server";
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { UpgradeWebSocket } from "hono/ws";
import type { Deps } from "./deps.ts";
import { systemClock } from "./lib/clock.ts";
import { createRealtimeHub, type RealtimeHub } from "./realtime/hub.ts";
import type { LocalFanout, SocketIo } from "./realtime/socket.ts";
import { accountPages } from "./transport/http/account-pages.ts";
import { bodyLimit } from "./transport/http/body-limit.ts";
import { fileRoutes } from "./transport/http/file-routes.ts";
import { healthRoutes } from "./transport/http/health.ts";
import { jobsRoute } from "./transport/http/jobs-route.ts";
import { metricsRoute } from "./transport/http/metrics-route.ts";
import { requestLog } from "./transport/http/request-log.ts";
import { webAppRoutes } from "./transport/http/web-app.ts";
import { websocketRoute } from "./transport/http/websocket-route.ts";
import { appRouter } from "./transport/trpc/app-router.ts";
import { createHttpContext } from "./transport/trpc/context.ts";
import { errorIdOf, hasErrorId } from "./transport/trpc/errors.ts";

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
export function createApp(
  deps: Deps,
  runtime: RuntimeBindings,
): {
  app: Hono;
  /**
   * What METRICS_PORT serves: /metrics and /ops/jobs/* without a token, and /livez and /readyz. Clients never connect there, so its
   * accept queue is never behind a reconnect storm's thousands of connections, as the main port's is.
   */
  operatorApp: Hono;
  hub: RealtimeHub;
  stop(): void;
} {
  const { config, services, logger, metrics } = deps;
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
    onSlowConsumerClose: (cause) => metrics.slowConsumerCloses.inc({ cause }),
    onSocketRefused: (reason) => metrics.socketsRefused.inc({ reason }),
    onResume: (result) => metrics.resumes.inc({ outcome: result }),
    onDelivered: (kind, sockets) => metrics.deliveries.inc({ kind }, sockets),
  });
  const clientIp = (c: Context): string | null =>
    (config.clientIpHeader ? c.req.header(config.clientIpHeader) : undefined) ?? runtime.remoteAddress(c);
  const allowedOrigins = config.allowedOrigins;

  metrics.observe("parley_ws_connections", "Open WebSocket connections", () => hub.stats().connections);
  metrics.observe("parley_rooms_followed", "Rooms this instance follows (one bus subscription each)", () => hub.stats().rooms);

  const app = new Hono();
  app.use("*", requestLog(logger, metrics));
  // overwrite: false keeps a route's own choice (the web app's Referrer-Policy, the account pages' CSP).
  app.use("*", secureHeaders({ crossOriginResourcePolicy: "same-site", overwrite: false }));
  const health = healthRoutes({ database: deps.database, busStatus: deps.busStatus, hub, metrics, logger, metricsToken: config.metrics.token });
  app.route("/", health.routes);
  app.route("/", metricsRoute({ metrics, token: config.metrics.token, requireToken: true }));
  const operatorJobs = { database: deps.database, clock: systemClock, logger };
  app.route("/", jobsRoute({ ...operatorJobs, token: config.metrics.token, requireToken: true }));

  // Answers carry tokens and personal data: no shared or browser cache may keep any of them.
  app.use("/trpc/*", async (c, next) => {
    await next();
    c.header("cache-control", "no-store");
  });

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
      maxBytes: MAX_TRPC_BODY_BYTES,
      drainBytes: config.httpOversizeDrainBytes,
      onOversize: (refusal) => logger.info("oversize request body refused", { ...refusal }),
    }),
    trpcServer({
      router: appRouter,
      // A larger batch is refused whole with BAD_REQUEST before anything in it runs.
      maxBatchSize: config.trpcMaxBatch,
      createContext: (_options, c) =>
        createHttpContext(c, {
          services,
          logger,
          metrics,
          rateLimiter: deps.rateLimiter,
          // Without Redis, tickets live in this process: one minted while it drains dies with it. With Redis any
          // instance redeems it, so a draining one still mints them (the upgrade goes wherever the balancer sends it).
          drainingFor: () => (config.redis ? null : hub.drainingFor()),
          callBudget: { perUser: config.rateLimits.callsPerUser, perIp: config.rateLimits.callsPerIp },
          allowedOrigins,
          cookieSecure: config.cookieSecure,
          clientIp,
        }),
      onError: ({ error, path }) => {
        // Calls that reached a procedure were logged by it; this catches what failed around them (context, routing).
        if (error.code === "INTERNAL_SERVER_ERROR" && !hasErrorId(error)) {
          logger.error("request failed", { path, errorId: errorIdOf(error), error: error.cause ?? error });
        }
      },
    }),
  );

  // Where the emails' links land (PUBLIC_URL/verify-email, /reset-password): script-free forms.
  app.route("/", accountPages({ services, clientIp, logger, appHome: config.webApp ? "/" : null }));

  // Local-disk storage: uploads and downloads go through this server (S3 serves them itself otherwise).
  if (deps.fileStorage.local) app.route("/", fileRoutes({ storage: deps.fileStorage.local, allowedOrigins }));

  app.route("/", websocketRoute({ services, hub, allowedOrigins, upgradeWebSocket: runtime.upgradeWebSocket, upgradeOptions: runtime.upgradeOptions }));

  // Last: every route above wins over the web app's files and its index.html fallback.
  if (config.webApp) {
    app.route("/", webAppRoutes({ distDir: config.webApp.distDir, publicUrl: config.publicUrl, storageOrigin: deps.fileStorage.browserOrigin }));
  }

  app.notFound((c) => c.json({ error: { code: "NOT_FOUND", message: "no such route" } }, 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      // Middleware refusals (csrf's plain-text 403, …) get the same typed JSON shape as every other error.
      const code = HTTP_ERROR_CODES[error.status] ?? "BAD_REQUEST";
      return c.json({ error: { code, message: error.message || "request refused" } }, error.status);
    }
    const errorId = errorIdOf(error);
    logger.error("unhandled request error", { error, path: c.req.path, errorId });
    return c.json({ error: { code: "INTERNAL", message: "internal error", errorId } }, 500);
  });
  const operatorApp = new Hono();
  operatorApp.route("/", health.routes);
  operatorApp.route("/", metricsRoute({ metrics, token: null, requireToken: false }));
  operatorApp.route("/", jobsRoute({ ...operatorJobs, token: null, requireToken: false }));
  return { app, operatorApp, hub, stop: health.stop };
}
