// `bun src/runtime/bun.ts`: the production default. Native topics, uWebSockets limits and pings.
import type { Server } from "bun";
import { getConnInfo, upgradeWebSocket, websocket } from "hono/bun";
import { MAX_FRAME_BYTES } from "../realtime/protocol.ts";
import { createBunFanout } from "./bun-fanout.ts";
import { run } from "./lifecycle.ts";

let server: Server<unknown> | null = null;

await run({
  name: "bun",
  env: Bun.env,
  bindings: () => ({
    upgradeWebSocket,
    fanout: createBunFanout(() => server as Server<unknown>),
    remoteAddress: (c) => getConnInfo(c).remote.address ?? null,
  }),
  async serve(app, config) {
    server = Bun.serve({
      port: config.port,
      hostname: config.host,
      fetch: app.fetch, // pass app.fetch itself: a wrapper breaks hono/bun's upgrade (stack.md §3)
      maxRequestBodySize: 1024 * 1024,
      websocket: {
        ...websocket,
        maxPayloadLength: MAX_FRAME_BYTES, // larger frames are closed with 1009 by Bun itself
        idleTimeout: config.wsIdleTimeoutSeconds,
        sendPings: true,
        perMessageDeflate: false,
      },
    });
    const listening = server;
    return { port: listening.port ?? config.port, stopAccepting: () => listening.stop() };
  },
  onSignal: (signal, handler) => process.on(signal, handler),
  exit: (code) => process.exit(code),
});
