import WebSocket from "ws";
import type { WebSocketConstructor, WebSocketLike } from "../../client-sdk/src/index.ts";

/** A frame the client put on the wire, parsed, with when. */
export interface SentFrame {
  frame: Record<string, unknown>;
  at: number;
}

/**
 * One client's network: the `fetch` and `WebSocket` an SDK client is given. It records every frame the client
 * sends (to see which clientMsgId a retry used) and can be cut — sockets dropped without a close handshake,
 * calls failing as a lost network does — and restored.
 */
export interface ClientNetwork {
  readonly online: boolean;
  fetch: typeof fetch;
  WebSocket: WebSocketConstructor;
  sent: SentFrame[];
  /** Drops every open socket (no close frame, like a lost link) and fails new calls and sockets until `restore`. */
  cut(): void;
  restore(): void;
}

export function createClientNetwork(): ClientNetwork {
  let online = true;
  const sockets = new Set<WebSocket>();
  const calls = new Set<AbortController>();
  const sent: SentFrame[] = [];

  const networkFetch = (async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    if (!online) throw new TypeError("fetch failed: the test cut this client's network");
    const controller = new AbortController();
    calls.add(controller);
    try {
      return await fetch(input, { ...init, signal: controller.signal });
    } finally {
      calls.delete(controller);
    }
  }) as typeof fetch;

  class TappedSocket implements WebSocketLike {
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onclose: ((event: { code: number; reason: string }) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    readonly #ws: WebSocket | null;

    constructor(url: string) {
      if (!online) {
        this.#ws = null;
        setTimeout(() => {
          this.onerror?.({ type: "error" });
          this.onclose?.({ code: 1006, reason: "" });
        }, 0);
        return;
      }
      const ws = new WebSocket(url);
      this.#ws = ws;
      sockets.add(ws);
      ws.onmessage = (event) => this.onmessage?.({ data: event.data });
      ws.onerror = (event) => this.onerror?.(event);
      ws.onclose = (event) => {
        sockets.delete(ws);
        this.onclose?.({ code: event.code, reason: event.reason });
      };
    }

    get readyState(): number {
      return this.#ws?.readyState ?? WebSocket.CLOSED;
    }

    send(data: string): void {
      sent.push({ frame: JSON.parse(data) as Record<string, unknown>, at: Date.now() });
      this.#ws?.send(data);
    }

    close(code?: number, reason?: string): void {
      this.#ws?.close(code, reason);
    }
  }

  return {
    get online() {
      return online;
    },
    fetch: networkFetch,
    WebSocket: TappedSocket,
    sent,
    cut() {
      online = false;
      for (const ws of sockets) ws.terminate();
      for (const call of calls) call.abort(new TypeError("fetch failed: the test cut this client's network"));
    },
    restore() {
      online = true;
    },
  };
}
