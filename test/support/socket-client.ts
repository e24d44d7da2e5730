import type { IncomingHttpHeaders } from "node:http";
import WebSocket from "ws";
import type { ServerEvent } from "../../src/contract.ts";
import { createEventLog } from "./event-log.ts";

export interface TestSocket {
  /** Every event received so far, in order. */
  events: ServerEvent[];
  send(frame: Record<string, unknown>): void;
  sendRaw(data: string | Buffer): void;
  /** Resolves with the first event (already received or arriving within the timeout) that matches. */
  waitFor<T extends ServerEvent = ServerEvent>(predicate: (event: ServerEvent) => boolean, timeoutMs?: number): Promise<T>;
  /** Resolves when the server closed (or the socket dropped), with the close code. */
  closed: Promise<{ code: number; reason: string }>;
  close(code?: number): void;
  /** Drops the TCP connection without a close handshake (a lost network). */
  terminate(): void;
  raw: WebSocket;
}

/** What an upgrade refused with an HTTP answer rejects with (besides the Error's message). */
export interface UpgradeRefusal {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A plain WebSocket client (the `ws` package) speaking the Parley protocol, for protocol-level tests. */
export function openTestSocket(url: string, options: { origin?: string } = {}): Promise<TestSocket> {
  const ws = new WebSocket(url, options.origin ? { origin: options.origin } : {});
  const log = createEventLog<ServerEvent>();
  ws.on("message", (data, isBinary) => {
    if (!isBinary) log.push(JSON.parse(data.toString()) as ServerEvent);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const socket: TestSocket = {
    events: log.events,
    raw: ws,
    closed,
    send: (frame) => ws.send(JSON.stringify(frame)),
    sendRaw: (data) => ws.send(data),
    close: (code) => ws.close(code),
    terminate: () => ws.terminate(),
    waitFor: (predicate, timeoutMs = 5000) => log.waitFor(predicate, timeoutMs),
  };
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(socket));
    ws.once("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => {
        const refusal: UpgradeRefusal = { status: response.statusCode ?? 0, headers: response.headers, body };
        reject(Object.assign(new Error(`upgrade refused: ${refusal.status}`), refusal));
      });
    });
    ws.once("error", reject);
  });
}
