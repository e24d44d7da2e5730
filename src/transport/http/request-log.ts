import type { MiddlewareHandler } from "hono";
import type { Logger } from "../../lib/logger.ts";

/**
 * One JSON line per request, with a request id (taken from a sane `x-request-id` or generated) echoed in the
 * response. Only the path is logged: query strings may carry one-time tickets.
 */
export function requestLog(logger: Logger): MiddlewareHandler {
  return async function requestLog(c, next) {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : crypto.randomUUID();
    const started = performance.now();
    c.header("x-request-id", requestId);
    await next();
    const fields = {
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (c.res.status >= 500) logger.error("request", fields);
    else logger.info("request", fields);
  };
}
