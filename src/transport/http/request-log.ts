import type { MiddlewareHandler } from "hono";
import type { Logger } from "../../lib/logger.ts";
import type { Metrics } from "../../lib/metrics.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** Set by requestLog on every request. */
    requestId: string;
  }
}

/**
 * One JSON line per request, with a request id (taken from a sane `x-request-id` or generated) echoed in the
 * response, kept in the Hono context (`c.get("requestId")`) and put on every line logged while serving the request
 * — by any service, however deep — through the logger's scope. Only the path is logged: query strings may carry
 * one-time tickets.
 */
export function requestLog(logger: Logger, metrics: Metrics): MiddlewareHandler {
  return async function requestLog(c, next) {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : crypto.randomUUID();
    const started = performance.now();
    c.set("requestId", requestId);
    c.header("x-request-id", requestId);
    await logger.scope({ requestId }, () => next());
    const status = c.res.status;
    metrics.httpRequests.inc({ route: routeFamily(c.req.path), status: `${Math.floor(status / 100)}xx` });
    const fields = { requestId, method: c.req.method, path: c.req.path, status, ms: Math.round((performance.now() - started) * 10) / 10 };
    if (status >= 500) logger.error("request", fields);
    else logger.info("request", fields);
  };
}

/** A handful of label values, whatever paths clients make up. */
function routeFamily(path: string): string {
  if (path.startsWith("/trpc/")) return "trpc";
  if (path === "/ws") return "ws";
  if (path === "/livez" || path === "/readyz") return "health";
  if (path === "/metrics") return "metrics";
  return "other";
}
