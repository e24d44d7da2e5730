// `bun src/runtime/bun.ts`: the production default. Native topics, uWebSockets limits and pings.
import type { Server } from "bun";
import { getConnInfo, upgradeWebSocket, websocket } from "hono/bun";
import { MAX_FRAME_BYTES } from "../realtime/protocol.ts";
import { bunSocketIo, createBunFanout } from "./bun-fanout.ts";
import { run } from "./lifecycle.ts";

let server: Server<unknown> | null = null;

await run({
  name: "bun",
  env: Bun.env,
  bindings: () => ({
    upgradeWebSocket,
    fanout: createBunFanout(() => server as Server<unknown>),
    socketIo: bunSocketIo,
    remoteAddress: (c) => getConnInfo(c).remote.address ?? null,
  }),
  async serve(app, config) {
    server = Bun.serve({
      port: config.port,
      hostname: config.host,
      fetch: app.fetch, // pass app.fetch itself: a wrapper breaks hono/bun's upgrade (stack.md §3)
      // The app drains oversize bodies up to this to answer a typed 413 (transport/http/body-limit.ts); past it
      // Bun answers an empty 413 itself and closes.
      maxRequestBodySize: config.httpOversizeDrainBytes,
      websocket: {
        ...websocket,
        maxPayloadLength: MAX_FRAME_BYTES, // larger frames are closed with 1009 by Bun itself
        idleTimeout: config.wsIdleTimeoutSeconds,
        sendPings: true,
        perMessageDeflate: false,
        // The hub closes slow readers with 4002 at WS_MAX_BUFFERED_BYTES and writes replays under it; this is the
        // last resort past it, where Bun would drop frames: it drops the connection instead (the client sees 1006,
        // with no close frame, and still reconnects and resumes: nothing is skipped silently).
        backpressureLimit: Math.max(16 * 1024 * 1024, config.wsMaxBufferedBytes * 4),
        closeOnBackpressureLimit: true,
      },
    });
    const listening = server;
    return { port: listening.port ?? config.port, stopAccepting: () => listening.stop() };
  },
  async servePlain(app, address) {
    const plain = Bun.serve({ port: address.port, hostname: address.host, fetch: app.fetch });
    return { port: plain.port ?? address.port, stopAccepting: () => plain.stop() };
  },
  onSignal: (signal, handler) => process.on(signal, handler),
  exit: (code) => process.exit(code),
});
