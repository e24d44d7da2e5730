// `node --import tsx src/runtime/node.ts`: @hono/node-server 2 with its built-in WebSocket support over `ws`.
import { serve, upgradeWebSocket } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { WebSocketServer, type WebSocket } from "ws";
import { createMemoryFanout } from "../realtime/memory-fanout.ts";
import { standardSocketIo } from "../realtime/standard-socket-io.ts";
import { MAX_FRAME_BYTES } from "../realtime/protocol.ts";
import { run } from "./lifecycle.ts";

let stopAccepting: () => Promise<void> = async () => {};

await run({
  name: "node",
  env: process.env,
  bindings: () => ({
    upgradeWebSocket,
    fanout: createMemoryFanout(),
    socketIo: standardSocketIo,
    remoteAddress: (c) => getConnInfo(c).remote.address ?? null,
  }),
  async serve(app, config) {
    // ws closes frames over maxPayload with 1009; compression stays off (CRIME-style leaks, inflate bombs).
    const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
    const heartbeat = pingIdleSockets(sockets, config.wsIdleTimeoutSeconds * 1000);
    const port = await new Promise<number>((resolve, reject) => {
      const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host, websocket: { server: sockets } }, (info) => {
        server.off("error", reject); // only listen errors are refusals to start; later ones stay loud
        resolve(info.port);
      });
      server.once("error", reject); // EADDRINUSE and the like: lifecycle says so and exits 1
      stopAccepting = () =>
        new Promise<void>((done) => {
          clearInterval(heartbeat);
          server.close(() => done());
          done(); // open sockets keep server.close() pending; they are drained separately
        });
    });
    return { port, stopAccepting: () => stopAccepting() };
  },
  servePlain: (app, address) =>
    new Promise((resolve, reject) => {
      const server = serve({ fetch: app.fetch, port: address.port, hostname: address.host }, (info) => {
        server.off("error", reject);
        resolve({ port: info.port, stopAccepting: () => void server.close() });
      });
      server.once("error", reject);
    }),
  onSignal: (signal, handler) => process.on(signal, handler),
  exit: (code) => process.exit(code),
});

/** Pings every socket each half-timeout; one that has not answered since the last ping is dead and dropped. */
function pingIdleSockets(sockets: WebSocketServer, timeoutMs: number): ReturnType<typeof setInterval> {
  const alive = new WeakSet<WebSocket>();
  sockets.on("connection", (socket: WebSocket) => {
    alive.add(socket);
    socket.on("pong", () => alive.add(socket));
  });
  const timer = setInterval(() => {
    for (const socket of sockets.clients) {
      if (!alive.delete(socket)) socket.terminate();
      else socket.ping();
    }
  }, timeoutMs / 2);
  timer.unref(); // the heartbeat must not keep a stopping process alive
  return timer;
}
