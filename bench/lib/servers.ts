import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, SERVER_CORE, freePort, spawnPinned, waitForHttp, type PinnedProcess } from "./processes.ts";

export interface RunningServer {
  name: string;
  url: string;
  /** Parley's METRICS_PORT listener (/metrics, /livez, /readyz); the main URL for the baselines. */
  operatorUrl: string;
  process: PinnedProcess;
  stop(): Promise<void>;
}

/** Lets the orchestrator scrape Parley's /metrics (heap figures, say) during a run. */
export const BENCH_METRICS_TOKEN = "bench-metrics-token-0123456789";

/** One unlabelled sample of Parley's /metrics, e.g. `nodejs_heap_size_used_bytes`; NaN when absent. */
export async function scrapeMetric(server: RunningServer, name: string): Promise<number> {
  const text = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` } }).then((response) => response.text());
  const line = text.split("\n").find((entry) => entry.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : Number.NaN;
}

/** Every bucket as wide as config.ts allows: the benchmark measures delivery, not the limiter refusing it. */
const UNLIMITED = "999999/1";

export interface ParleyOptions {
  /** A postgres:// URL, or "embedded" for the default PGlite under its own DATA_DIR. */
  databaseUrl: string;
  /** Listen here (a restart on the same address); a free port otherwise. */
  port?: number;
  /** METRICS_PORT likewise. */
  operatorPort?: number;
  /** More environment, over the defaults below. */
  env?: Record<string, string>;
  redis?: { url: string; prefix: string };
  instanceId?: string;
  poolSize?: number;
  /** Writes a CPU profile (.cpuprofile and Markdown) here when the server exits. */
  cpuProfileDir?: string;
}

/**
 * `bun src/runtime/bun.ts` as production runs it (NODE_ENV=production, LOG_LEVEL=warn), pinned to the server core,
 * on a fresh database, with the rate limits raised (see BENCHMARKS.md) and access tokens good for an hour.
 */
export async function startParley(options: ParleyOptions): Promise<RunningServer> {
  const port = options.port ?? (await freePort());
  const operatorPort = options.operatorPort ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), "parley-bench-"));
  const env: Record<string, string> = {
    NODE_ENV: "production",
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: options.databaseUrl,
    DATA_DIR: dataDir,
    JWT_SECRET: "bench-secret-bench-secret-bench-secret-0123456789",
    METRICS_TOKEN: BENCH_METRICS_TOKEN,
    METRICS_PORT: String(operatorPort),
    ALLOWED_ORIGINS: "http://bench.parley.test",
    LOG_LEVEL: "warn",
    DRAIN_MS: "200",
    ACCESS_TOKEN_TTL_SECONDS: "3600",
    RATE_LIMIT_AUTH_PER_IP: UNLIMITED,
    RATE_LIMIT_AUTH_PER_ACCOUNT: UNLIMITED,
    RATE_LIMIT_SEND_PER_USER: UNLIMITED,
    RATE_LIMIT_TYPING_PER_USER: UNLIMITED,
    RATE_LIMIT_SEARCH_PER_USER: UNLIMITED,
    RATE_LIMIT_CALLS_PER_USER: UNLIMITED,
    RATE_LIMIT_CALLS_PER_IP: UNLIMITED,
    RATE_LIMIT_ROOM_CREATE_PER_USER: UNLIMITED,
    RATE_LIMIT_INVITE_PER_USER: UNLIMITED,
    RATE_LIMIT_OPEN_DIRECT_PER_USER: UNLIMITED,
    RATE_LIMIT_JOIN_BY_LINK_PER_USER: UNLIMITED,
    RATE_LIMIT_FRIEND_REQUEST_PER_USER: UNLIMITED,
    RATE_LIMIT_WS_TICKET_PER_USER: UNLIMITED,
    WS_FRAME_RATE: UNLIMITED,
    ...(options.poolSize ? { DATABASE_POOL_SIZE: String(options.poolSize) } : {}),
    ...(options.redis ? { REDIS_URL: options.redis.url, REDIS_PREFIX: options.redis.prefix } : {}),
    ...(options.instanceId ? { INSTANCE_ID: options.instanceId } : {}),
    ...options.env,
  };
  const name = `parley${options.instanceId ? `:${options.instanceId}` : ""}`;
  const profiling = options.cpuProfileDir ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const child = spawnPinned(SERVER_CORE, [BUN, ...profiling, "src/runtime/bun.ts"], env);
  return started(name, port, child, () => rmSync(dataDir, { recursive: true, force: true }), operatorPort);
}

export async function startBareBun(): Promise<RunningServer> {
  const port = await freePort();
  return started("bare-bun", port, spawnPinned(SERVER_CORE, [BUN, "bench/baselines/bare-bun-pubsub.ts"], { PORT: String(port) }));
}

export async function startSocketIo(): Promise<RunningServer> {
  const port = await freePort();
  const node = process.execPath;
  return started("socket.io", port, spawnPinned(SERVER_CORE, [node, "--import", "tsx", "bench/baselines/socketio-server.ts"], { PORT: String(port), NODE_ENV: "production" }));
}

async function started(name: string, port: number, child: PinnedProcess, cleanup = (): void => {}, operatorPort = port): Promise<RunningServer> {
  const url = `http://127.0.0.1:${port}`;
  const operatorUrl = `http://127.0.0.1:${operatorPort}`;
  const stop = async (): Promise<void> => {
    await child.stop();
    cleanup();
  };
  try {
    await waitForHttp(`${url}/livez`, child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { name, url, operatorUrl, process: child, stop };
}

/** Error-level lines a server logged: a benchmark that made the server fail is reported with them. */
export function loggedErrors(server: RunningServer): string[] {
  return server.process
    .output()
    .split("\n")
    .filter((line) => line.includes('"level":"error"') || line.includes('"level":"fatal"'));
}
