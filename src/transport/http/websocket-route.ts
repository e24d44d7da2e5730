import { Hono } from "hono";
import type { UpgradeWebSocket, WSEvents } from "hono/ws";
import type { WsTicketClaims } from "../../domain/auth/auth.schema.ts";
import type { Services } from "../../domain/services.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { RealtimeHub } from "../../realtime/hub.ts";

const TICKET = /^[A-Za-z0-9_-]{22,64}$/;

/**
 * `GET /ws?ticket=…`: everything is checked before the upgrade, so a refused socket never opens.
 * 503 while draining or while the ticket store is unreachable, 403 for an Origin outside the allowlist (browsers
 * always send one; other clients may omit it), 426 for a plain GET, 401 for a missing, unknown, expired or already
 * used ticket, 429 (with Retry-After) when the ticket's user already holds WS_MAX_SOCKETS_PER_USER sockets here.
 */
export function websocketRoute(deps: {
  services: Services;
  hub: RealtimeHub;
  allowedOrigins: readonly string[];
  upgradeWebSocket: UpgradeWebSocket;
  upgradeOptions?: Record<string, unknown>;
}): Hono<{ Variables: { events: WSEvents } }> {
  const routes = new Hono<{ Variables: { events: WSEvents } }>();
  routes.get(
    "/ws",
    async (c, next) => {
      const drainingFor = deps.hub.drainingFor();
      if (drainingFor !== null) {
        // Come back once this instance is gone: another one (or its replacement) takes the socket then.
        return c.json({ error: { code: "UNAVAILABLE", message: "server restarting" } }, 503, { "retry-after": String(drainingFor) });
      }
      const origin = c.req.header("origin");
      if (origin !== undefined && !deps.allowedOrigins.includes(origin)) {
        return c.json({ error: { code: "FORBIDDEN", message: "origin not allowed" } }, 403);
      }
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        return c.json({ error: { code: "UPGRADE_REQUIRED", message: "expected a WebSocket upgrade" } }, 426);
      }
      const ticket = c.req.query("ticket");
      let claims: WsTicketClaims | null;
      try {
        claims = ticket && TICKET.test(ticket) ? await deps.services.auth.redeemWsTicket(ticket) : null;
      } catch (error) {
        // The ticket store (Redis) is down: a retryable refusal, like draining, not a 500.
        if (!(error instanceof DomainError && error.code === "UNAVAILABLE")) throw error;
        return c.json({ error: { code: "UNAVAILABLE", message: error.message } }, 503, { "retry-after": "2" });
      }
      if (!claims) return c.json({ error: { code: "UNAUTHORIZED", message: "invalid or used ticket" } }, 401);
      // Counted here, after the ticket named the user and before the upgrade: the slot is taken synchronously.
      const admission = deps.hub.admit(claims);
      if (!admission.admitted) {
        const { retryAfterSeconds } = admission;
        const message = "too many sockets open for this user: close one, or retry later with a new ticket";
        return c.json({ error: { code: "TOO_MANY_REQUESTS", message, retryAfterSeconds } }, 429, { "retry-after": String(retryAfterSeconds) });
      }
      c.set("events", admission.events);
      await next();
    },
    deps.upgradeWebSocket((c) => c.get("events"), deps.upgradeOptions),
  );
  return routes;
}
