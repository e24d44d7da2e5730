import { Hono } from "hono";
import type { Metrics } from "../../lib/metrics.ts";
import { bearerMatches } from "./bearer.ts";

/**
 * `GET /metrics` in Prometheus's text format. On the main port it needs `Authorization: Bearer $METRICS_TOKEN`
 * (404 without a configured token, 401 with a wrong one); the METRICS_PORT listener serves it to anyone who can
 * reach that (private) port, so `token` is null there.
 */
export function metricsRoute(deps: { metrics: Metrics; token: string | null; requireToken: boolean }): Hono {
  const routes = new Hono();
  routes.get("/metrics", async (c) => {
    if (deps.requireToken) {
      if (deps.token === null) return c.json({ error: { code: "NOT_FOUND", message: "no such route" } }, 404);
      if (!bearerMatches(c.req.header("authorization"), deps.token)) {
        return c.json({ error: { code: "UNAUTHORIZED", message: "metrics need the bearer token" } }, 401, { "www-authenticate": "Bearer" });
      }
    }
    return c.body(await deps.metrics.render(), 200, { "content-type": deps.metrics.contentType, "cache-control": "no-store" });
  });
  return routes;
}
