import type { Hono } from "hono";
import { createApp, type RuntimeBindings } from "../app.ts";
import { ConfigError, type Config, parseConfig } from "../config.ts";
import { createDeps, type Deps } from "../deps.ts";
import { DataDirLockedError } from "../infra/db/data-dir-lock.ts";
import { createLogger, type Logger } from "../lib/logger.ts";
import type { RealtimeHub } from "../realtime/hub.ts";

/** What a runtime entry point hands over once its server listens. */
export interface Listening {
  port: number;
  /** Stops accepting new connections; open sockets stay until drained. */
  stopAccepting(): Promise<void> | void;
}

export interface RuntimeEntry {
  name: "bun" | "deno" | "node";
  env: Record<string, string | undefined>;
  bindings(config: Config): RuntimeBindings;
  serve(app: Hono, config: Config): Promise<Listening>;
  /** A second, plain HTTP listener (no WebSockets): the METRICS_PORT one. */
  servePlain(app: Hono, address: { port: number; host: string }): Promise<Listening>;
  onSignal(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  exit(code: number): never;
}

/**
 * Parse config → build deps → serve → drain on SIGTERM/SIGINT. The same sequence on every runtime; the entry
 * files only supply what differs.
 */
export async function run(entry: RuntimeEntry): Promise<void> {
  let config: Config;
  try {
    config = parseConfig(entry.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${JSON.stringify({ level: "fatal", msg: error.message, issues: error.issues })}\n`);
    return entry.exit(1);
  }
  const logger = createLogger({ level: config.logLevel, base: { instance: config.instanceId, runtime: entry.name } });
  let deps: Deps;
  try {
    deps = await createDeps(config, logger, { runtime: entry.name });
  } catch (error) {
    if (error instanceof DataDirLockedError) logger.error(error.message, { lock: error.path, holder: error.holder });
    else logger.error("could not start", { error });
    return entry.exit(1);
  }
  const { app, operatorApp, hub, stop: stopApp } = createApp(deps, entry.bindings(config));
  const listeners: Listening[] = [];
  const listen = async (port: number, start: () => Promise<Listening>): Promise<boolean> => {
    try {
      listeners.push(await start());
      return true;
    } catch (error) {
      const where = { port, host: config.host };
      if (isAddressInUse(error)) logger.error(`port ${port} on ${config.host} is already in use`, where);
      else logger.error("could not listen", { ...where, error });
      for (const listening of listeners) await listening.stopAccepting();
      stopApp();
      await hub.drain(0);
      await deps.close().catch((closing: unknown) => logger.error("could not close dependencies", { error: closing }));
      return false;
    }
  };
  if (!(await listen(config.port, () => entry.serve(app, config)))) return entry.exit(1);
  const [listening] = listeners as [Listening];
  const metricsPort = config.metrics.port;
  if (metricsPort !== null) {
    if (!(await listen(metricsPort, () => entry.servePlain(operatorApp, { port: metricsPort, host: config.host })))) return entry.exit(1);
    logger.info("serving metrics and health", { port: listeners[1]?.port, host: config.host });
  }
  logger.info("listening", { port: listening.port, host: config.host });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void shutdown({ deps, hub, listeners, logger, drainMs: config.drainMs })
      .finally(stopApp)
      .then((code) => entry.exit(code));
  };
  entry.onSignal("SIGTERM", stop);
  entry.onSignal("SIGINT", stop);
}

/** EADDRINUSE as Bun and Node report it (`code`), or Deno's `Deno.errors.AddrInUse` (`name`). */
function isAddressInUse(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return ("code" in error && error.code === "EADDRINUSE") || error.name === "AddrInUse";
}

/**
 * Close the sockets with 1012 in batches over DRAIN_MS (while outbox handlers finish or are given back), then stop
 * accepting, close the bus, Redis and the database, exit. The listener stays open through the drain: a socket closed early reconnects at once, and is answered 503
 * with Retry-After (and /readyz says draining) rather than "connection refused" — a client that hammers a closed
 * port backs off no better, and a load balancer that still routes here learns why.
 */
async function shutdown(options: {
  deps: Deps;
  hub: RealtimeHub;
  listeners: Listening[];
  logger: Logger;
  drainMs: number;
}): Promise<number> {
  const { deps, hub, listeners, logger } = options;
  logger.info("draining", { connections: hub.stats().connections, jobs: deps.jobs.active(), drainMs: options.drainMs });
  try {
    // The worker stops claiming at once; its running handlers get the same DRAIN_MS to finish, and what is still
    // running then goes back to the queue (uncounted) for another instance.
    await Promise.all([hub.drain(options.drainMs), deps.jobs.drain(options.drainMs)]);
    for (const listening of listeners) await listening.stopAccepting();
    await deps.close();
    logger.info("stopped");
    return 0;
  } catch (error) {
    logger.error("shutdown failed", { error });
    return 1;
  }
}
