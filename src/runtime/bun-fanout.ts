import type { Server, ServerWebSocket } from "bun";
import type { LocalFanout, SocketIo } from "../realtime/socket.ts";

/**
 * Bun's native topics: subscriptions live in uWebSockets and `server.publish` fans a frame out in native code,
 * once per instance, to every subscribed socket.
 */
export function createBunFanout(server: () => Server<unknown>): LocalFanout {
  return {
    subscribe: (socket, topic) => {
      const ws = socket.raw as ServerWebSocket<unknown>;
      if (ws.readyState === 1) ws.subscribe(topic);
    },
    unsubscribe: (socket, topic) => {
      const ws = socket.raw as ServerWebSocket<unknown>;
      if (ws.readyState === 1) ws.unsubscribe(topic);
    },
    publish: (topic, data) => {
      server().publish(topic, data);
      return server().subscriberCount(topic);
    },
  };
}

/**
 * Bun's socket writes report what happened: a negative result means queued under backpressure, 0 means dropped
 * (the socket is past `backpressureLimit`; with `closeOnBackpressureLimit` Bun then drops the connection without
 * a close frame, which its client sees as 1006). The realtime layer keeps every socket well below that limit.
 * `getBufferedAmount()` counts only Bun's own queue: what the kernel holds is not in it (nor in the process RSS).
 */
export const bunSocketIo: SocketIo = {
  send(raw, data) {
    const ws = raw as ServerWebSocket<unknown>;
    if (ws.readyState !== 1) return "closed";
    return ws.send(data) === 0 ? "dropped" : "sent";
  },
  bufferedAmount: (raw) => (raw as ServerWebSocket<unknown>).getBufferedAmount(),
  close: (raw, code, reason) => (raw as ServerWebSocket<unknown>).close(code, reason),
};
