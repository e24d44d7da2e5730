import type { SocketIo } from "./socket.ts";

/** The socket surface `ws` (Node) and Deno share with the browser's WebSocket. */
interface StandardWebSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code: number, reason: string): void;
}

/**
 * Socket I/O for runtimes whose sockets follow the web API (`ws` on Node, Deno): `send` always queues, so
 * nothing is dropped here — a socket that cannot keep up shows as a growing `bufferedAmount` instead.
 */
export const standardSocketIo: SocketIo = {
  send(raw, data) {
    const socket = raw as StandardWebSocket;
    if (socket.readyState !== 1) return "closed";
    socket.send(data);
    return "sent";
  },
  bufferedAmount: (raw) => (raw as StandardWebSocket).bufferedAmount,
  close: (raw, code, reason) => (raw as StandardWebSocket).close(code, reason),
};
