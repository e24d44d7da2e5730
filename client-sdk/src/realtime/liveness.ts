import type { WebSocketLike } from "./realtime-client.ts";

/**
 * Notices a dead link: a ping every `pingIntervalMs`; when a ping is still unanswered `pongTimeoutMs` later (no
 * frame at all arrived since), the link is dead. A half-open TCP connection (a laptop closed, a NAT forgetting
 * the mapping) shows no error for minutes otherwise.
 */
export interface Liveness {
  /** Starts the regular pings (idempotent). */
  start(): void;
  /** Stops them and forgets a running check (a final close). */
  stop(): void;
  /** A frame arrived: the link is alive, and a running check is answered. */
  heard(): void;
  /** Checks now (the page became visible), unless a check is already running. */
  checkNow(): void;
  /** The socket is gone: a running check about it is moot. */
  forget(): void;
}

export function createLiveness(deps: {
  pingIntervalMs: number;
  pongTimeoutMs: number;
  /** The socket to check, if any is open. */
  socket(): WebSocketLike | null;
  /** The check found `ws` dead. */
  dead(ws: WebSocketLike): void;
}): Liveness {
  let heartbeat: ReturnType<typeof setInterval> | null = null;
  let pongTimer: ReturnType<typeof setTimeout> | null = null;
  let lastHeardAt = 0;

  const forget = (): void => {
    if (pongTimer) clearTimeout(pongTimer);
    pongTimer = null;
  };

  function check(): void {
    const ws = deps.socket();
    if (!ws || ws.readyState !== 1 || pongTimer) return;
    const pingedAt = Date.now();
    ws.send(JSON.stringify({ type: "ping" }));
    pongTimer = setTimeout(() => {
      pongTimer = null;
      if (deps.socket() === ws && lastHeardAt < pingedAt) deps.dead(ws);
    }, deps.pongTimeoutMs);
  }

  return {
    start() {
      heartbeat ??= setInterval(check, deps.pingIntervalMs);
    },
    stop() {
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
      forget();
    },
    heard() {
      lastHeardAt = Date.now();
      forget();
    },
    checkNow: check,
    forget,
  };
}
