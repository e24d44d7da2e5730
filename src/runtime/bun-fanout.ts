import type { Server, ServerWebSocket } from "bun";
import type { LocalFanout } from "../realtime/socket.ts";

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
    },
  };
}
