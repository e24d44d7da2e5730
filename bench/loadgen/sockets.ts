import { mapConcurrently } from "../../src/lib/concurrency.ts";

/** Sockets opened at once while connecting a crowd: upgrades queue on the server's one core anyway. */
const CONNECT_CONCURRENCY = 100;
const READY_TIMEOUT_MS = 30_000;

export interface BenchSocket {
  /** Sends a text frame (dropped silently if the socket closed: closes are counted separately). */
  send(frame: string): void;
  close(): void;
  /** The message that made the socket ready (Parley's `ready`), or null when `open` is enough. */
  readonly ready: string | null;
}

export interface SocketSpec {
  url: string;
  /** Null: ready on `open` (the bare server says nothing first). Else: the first message for which it holds. */
  isReady: ((data: string) => boolean) | null;
  /** Every text message after ready. Kept cheap: it runs once per delivery. */
  onMessage(data: string): void;
  /** The socket closed while the workload still held it. */
  onClose(code: number): void;
}

/** A plain WebSocket (Bun's native client), resolved once ready; messages before ready are not passed on. */
export function openSocket(spec: SocketSpec): Promise<BenchSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(spec.url);
    let ready: string | null = null;
    let opened = false;
    let closing = false;
    const timer = setTimeout(() => {
      reject(new Error(`socket not ready within ${READY_TIMEOUT_MS} ms: ${spec.url.replace(/ticket=.*/, "ticket=…")}`));
      ws.close();
    }, READY_TIMEOUT_MS);
    const socket: BenchSocket = {
      send: (frame) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(frame);
      },
      close: () => {
        closing = true;
        ws.close();
      },
      get ready() {
        return ready;
      },
    };
    const becomeReady = (): void => {
      opened = true;
      clearTimeout(timer);
      ws.onmessage = (event: MessageEvent<string>) => spec.onMessage(event.data);
      resolve(socket);
    };
    ws.onopen = () => {
      if (spec.isReady === null) becomeReady();
    };
    ws.onmessage = (event: MessageEvent<string>) => {
      if (spec.isReady?.(event.data)) {
        ready = event.data;
        becomeReady();
      }
    };
    ws.onclose = (event: CloseEvent) => {
      if (!opened) {
        clearTimeout(timer);
        reject(new Error(`socket closed before ready (${event.code} ${event.reason})`));
      } else if (!closing) {
        spec.onClose(event.code);
      }
    };
  });
}

/** Opens every socket, a bounded number at a time; rejects on the first that fails. */
export function openSockets(specs: SocketSpec[]): Promise<BenchSocket[]> {
  return mapConcurrently(specs, CONNECT_CONCURRENCY, openSocket);
}

/** Parley's first event once a socket is attached to all its rooms. */
export const isParleyReady = (data: string): boolean => data.startsWith('{"type":"ready"');
