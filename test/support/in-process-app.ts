import { upgradeWebSocket } from "@hono/node-server";
import type { Hono } from "hono";
import { createApp } from "../../src/app.ts";
import { parseConfig } from "../../src/config.ts";
import { createDeps, type Deps } from "../../src/deps.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { createMemoryFanout } from "../../src/realtime/memory-fanout.ts";
import { standardSocketIo } from "../../src/realtime/standard-socket-io.ts";

export interface InProcessApp {
  app: Hono;
  deps: Deps;
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  /** `app.request` with JSON in and out: the whole HTTP stack (middleware, tRPC adapter) without a socket. */
  call(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; json: unknown; text: string }>;
  close(): Promise<void>;
}

/**
 * The real app — real config, composition root, services and in-memory PGlite — answering `Request`s in this
 * process, so a spec can reach into the same services the routes use (count calls, make one fail on purpose).
 */
export async function createInProcessApp(env: Record<string, string> = {}): Promise<InProcessApp> {
  const config = parseConfig({
    NODE_ENV: "test",
    DATABASE_URL: "memory",
    JWT_SECRET: "in-process-secret-in-process-secret-0123",
    ALLOWED_ORIGINS: "http://app.parley.test",
    ...env,
  });
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const deps = await createDeps(config, logger, { runtime: "node" });
  const { app, hub, stop } = createApp(deps, {
    upgradeWebSocket,
    fanout: createMemoryFanout(),
    socketIo: standardSocketIo,
    remoteAddress: () => "203.0.113.7",
  });
  return {
    app,
    deps,
    logs,
    async call(path, init) {
      const response = await app.request(`http://127.0.0.1${path}`, init);
      const text = await response.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: response.status, headers: response.headers, json, text };
    },
    async close() {
      stop();
      await hub.drain(0);
      await deps.close();
    },
  };
}
