import { Hono } from "hono";
import type { BusStatus } from "../../infra/bus/bus.ts";
import type { Database } from "../../infra/db/database.ts";
import type { Logger } from "../../lib/logger.ts";
import type { Metrics } from "../../lib/metrics.ts";
import type { RealtimeHub } from "../../realtime/hub.ts";
import { bearerMatches } from "./bearer.ts";

const DATABASE_PROBE_EVERY_MS = 1000;
const DATABASE_PING_TIMEOUT_MS = 2000;

export interface HealthDeps {
  database: Database;
  busStatus(): BusStatus;
  hub: RealtimeHub;
  metrics: Metrics;
  logger: Logger;
  /** With this bearer token /readyz also shows its counts; null: never. */
  metricsToken: string | null;
}

/**
 * `/livez`: the process answers (no dependency checks: a database outage must not become a restart loop).
 * `/readyz`: route traffic here — not draining, the database answers and the bus is connected.
 *
 * Neither waits for anything: the database is probed in the background once a second and /readyz answers from the
 * last probe, so a health check never queues behind a reconnect storm's queries (it took 8.7 s to answer during
 * one when it pinged inline) and a short checker timeout cannot mark a recovering instance unhealthy. A probe that
 * has not answered for DATABASE_PING_TIMEOUT_MS counts as down. Counts (sockets, rooms) are shown only to a caller
 * with the metrics token: they tell an outsider how busy the instance is.
 */
export function healthRoutes(deps: HealthDeps): { routes: Hono; stop(): void } {
  const probe = createDatabaseProbe(deps);
  deps.metrics.observe("parley_database_up", "1 while the database answered its last probe", () => (probe.status() === "up" ? 1 : 0));
  const routes = new Hono();
  routes.get("/livez", (c) => c.json({ status: "ok" }));
  routes.get("/readyz", (c) => {
    const checks = { draining: deps.hub.isDraining(), database: probe.status(), bus: deps.busStatus() };
    const ready = !checks.draining && checks.database === "up" && checks.bus === "up";
    const counts = bearerMatches(c.req.header("authorization"), deps.metricsToken) ? deps.hub.stats() : {};
    return c.json({ status: ready ? "ready" : "unavailable", ...checks, ...counts }, ready ? 200 : 503);
  });
  return { routes, stop: probe.stop };
}

function createDatabaseProbe(deps: HealthDeps): { status(): "up" | "down"; stop(): void } {
  let lastAnswerAt = performance.now();
  let answered = true;
  let inFlight = false;
  const ping = (): void => {
    if (inFlight) return;
    inFlight = true;
    const started = performance.now();
    deps.database.ping().then(
      () => {
        lastAnswerAt = performance.now();
        answered = true;
      },
      (error: unknown) => {
        if (answered) deps.logger.warn("database probe failed", { error, ms: Math.round(performance.now() - started) });
        answered = false;
      },
    ).finally(() => {
      inFlight = false;
    });
  };
  ping();
  const timer = setInterval(ping, DATABASE_PROBE_EVERY_MS);
  timer.unref?.(); // the probe must not keep a stopping process alive
  return {
    status: () => (answered && performance.now() - lastAnswerAt <= DATABASE_PING_TIMEOUT_MS + DATABASE_PROBE_EVERY_MS ? "up" : "down"),
    stop: () => clearInterval(timer),
  };
}
