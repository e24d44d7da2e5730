import { Hono } from "hono";
import type { BusStatus } from "../../infra/bus/bus.ts";
import type { Database } from "../../infra/db/database.ts";
import type { RealtimeHub } from "../../realtime/hub.ts";

const DATABASE_PING_TIMEOUT_MS = 2000;

/**
 * `/livez`: the process answers (no dependency checks: a database outage must not become a restart loop).
 * `/readyz`: route traffic here — not draining, the database answers and the bus is connected.
 */
export function healthRoutes(deps: { database: Database; busStatus: () => BusStatus; hub: RealtimeHub }): Hono {
  const routes = new Hono();
  routes.get("/livez", (c) => c.json({ status: "ok" }));
  routes.get("/readyz", async (c) => {
    const database = await withTimeout(deps.database.ping(), DATABASE_PING_TIMEOUT_MS).then(
      () => "up" as const,
      () => "down" as const,
    );
    const checks = { draining: deps.hub.isDraining(), database, bus: deps.busStatus(), ...deps.hub.stats() };
    const ready = !checks.draining && database === "up" && checks.bus === "up";
    return c.json({ status: ready ? "ready" : "unavailable", ...checks }, ready ? 200 : 503);
  });
  return routes;
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
