import { Hono } from "hono";
import { z } from "zod";
import { listDeadJobs, readJobStats, retryDeadJobs } from "../../domain/jobs/job-ops.ts";
import type { Database } from "../../infra/db/database.ts";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/logger.ts";
import { bearerMatches } from "./bearer.ts";

const RetryBody = z.union([z.strictObject({ ids: z.array(z.uuid()).min(1).max(1000) }), z.strictObject({ all: z.literal(true) })]);

/**
 * The outbox for an operator, guarded exactly like /metrics (METRICS_TOKEN on the main port, open on the private
 * METRICS_PORT): `GET /ops/jobs/stats` the queue's counts, `GET /ops/jobs/dead?limit=` dead jobs (no payloads: they hold
 * tokens and addresses), `POST /ops/jobs/retry {"ids": [...]} | {"all": true}` queues dead jobs again with fresh
 * attempts. An HTTP route rather than a CLI: the embedded database is locked by the running server.
 */
export function jobsRoute(deps: { database: Database; clock: Clock; logger: Logger; token: string | null; requireToken: boolean }): Hono {
  const routes = new Hono();
  routes.use("/ops/jobs/*", async (c, next) => {
    if (deps.requireToken) {
      if (deps.token === null) return c.json({ error: { code: "NOT_FOUND", message: "no such route" } }, 404);
      if (!bearerMatches(c.req.header("authorization"), deps.token)) {
        return c.json({ error: { code: "UNAUTHORIZED", message: "operator routes need the metrics bearer token" } }, 401, { "www-authenticate": "Bearer" });
      }
    }
    await next();
    c.header("cache-control", "no-store");
  });
  routes.get("/ops/jobs/stats", async (c) => c.json(await readJobStats(deps.database.db, deps.clock.now())));
  routes.get("/ops/jobs/dead", async (c) => {
    const limit = z.coerce.number().int().min(1).max(1000).catch(100).parse(c.req.query("limit") ?? 100);
    return c.json({ items: await listDeadJobs(deps.database.db, { limit }) });
  });
  routes.post("/ops/jobs/retry", async (c) => {
    const body = RetryBody.safeParse(await c.req.json().catch(() => null));
    if (!body.success) return c.json({ error: { code: "BAD_REQUEST", message: 'send {"ids": [uuid, …]} or {"all": true}' } }, 400);
    const retried = await retryDeadJobs(deps.database.db, "all" in body.data ? "all" : { ids: body.data.ids }, deps.clock.now());
    deps.logger.info("dead jobs queued again by an operator", { count: retried.length });
    return c.json({ retried });
  });
  return routes;
}
