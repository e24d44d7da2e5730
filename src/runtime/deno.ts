// `deno run -A src/runtime/deno.ts`: Deno.serve with hono/deno's upgrade (Deno pings idle sockets itself).
import type { Context } from "hono";
import { upgradeWebSocket } from "hono/deno";
import { createMemoryFanout } from "../realtime/memory-fanout.ts";
import { standardSocketIo } from "../realtime/standard-socket-io.ts";
import { run } from "./lifecycle.ts";

declare const Deno: {
  env: { toObject(): Record<string, string> };
  serve(
    options: { port: number; hostname: string; onListen(address: { port: number }): void },
    handler: (request: Request, info: unknown) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> };
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  exit(code: number): never;
};

await run({
  name: "deno",
  env: Deno.env.toObject(),
  bindings: (config) => ({
    upgradeWebSocket,
    // Deno.upgradeWebSocket's idleTimeout: pings the peer and closes the socket if it stops answering.
    upgradeOptions: { idleTimeout: config.wsIdleTimeoutSeconds },
    fanout: createMemoryFanout(),
    socketIo: standardSocketIo,
    remoteAddress: (c: Context) => {
      const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
      return info?.remoteAddr?.hostname ?? null;
    },
  }),
  serve: (app, config) =>
    new Promise((resolve) => {
      const server = Deno.serve(
        { port: config.port, hostname: config.host, onListen: ({ port }) => resolve({ port, stopAccepting: () => void server.shutdown() }) },
        (request, info) => app.fetch(request, info),
      );
    }),
  servePlain: (app, address) =>
    new Promise((resolve) => {
      const server = Deno.serve(
        { port: address.port, hostname: address.host, onListen: ({ port }) => resolve({ port, stopAccepting: () => void server.shutdown() }) },
        (request) => app.fetch(request),
      );
    }),
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
});
