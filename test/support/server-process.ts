import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type RuntimeName = "bun" | "deno" | "node";

const ROOT = new URL("../../", import.meta.url).pathname;

const COMMANDS: Record<RuntimeName, string[]> = {
  bun: [join(ROOT, "node_modules/.bin/bun"), "src/runtime/bun.ts"],
  deno: [join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--unstable-no-legacy-abort", "src/runtime/deno.ts"],
  node: [process.execPath, "--import", "tsx", "src/runtime/node.ts"],
};

export const TEST_ORIGIN = "http://app.parley.test";

export interface ServerProcess {
  runtime: RuntimeName;
  url: string;
  port: number;
  /** The server's own process id (each runtime is spawned directly, not through a shell or wrapper). */
  pid: number;
  /** Every JSON log line the server printed so far. */
  logs: Record<string, unknown>[];
  /** Raw stdout+stderr, for failure messages. */
  output(): string;
  /** Sends a signal and waits for the process to exit; resolves with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: boolean;
}

/**
 * A real Parley server in its own process, on a free port. Resolves once it logs "listening".
 * Defaults: in-memory PGlite, in-process bus, a fixed JWT secret and a test origin; `env` overrides.
 */
export async function startServer(runtime: RuntimeName, env: Record<string, string> = {}): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-server-"));
  const [command, ...args] = COMMANDS[runtime] as [string, ...string[]];
  const child: ChildProcess = spawn(command, args, {
    cwd: ROOT,
    env: serverEnv(dataDir, env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const logs: Record<string, unknown>[] = [];
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  void exit.then(() => {
    exited = true;
    rmSync(dataDir, { recursive: true, force: true });
  });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${runtime} server did not start:\n${output}`)), 45_000);
    let buffered = "";
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      output += text;
      buffered += text;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("{")) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === "listening" && typeof entry.port === "number") {
            clearTimeout(timer);
            resolve(entry.port);
          }
        } catch {
          // not a log line
        }
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${runtime} server exited with ${code} before listening:\n${output}`));
    });
  });

  return {
    runtime,
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    logs,
    output: () => output,
    get exited() {
      return exited;
    },
    async stop(signal = "SIGTERM") {
      if (!exited) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * What every test server is given beyond PATH, HOME and its data dir: in-memory PGlite, a fixed JWT secret, the test
 * origin, generous rate limits. A spec that wants a server as shipped (`npm start`) passes each of these as "" (unset).
 */
export const TEST_SERVER_DEFAULTS: Readonly<Record<string, string>> = {
  NODE_ENV: "test",
  PORT: "0",
  HOST: "127.0.0.1",
  DATABASE_URL: "memory",
  JWT_SECRET: "e2e-secret-e2e-secret-e2e-secret-0123456789",
  ALLOWED_ORIGINS: TEST_ORIGIN,
  LOG_LEVEL: "info",
  DRAIN_MS: "200",
  RATE_LIMIT_AUTH_PER_IP: "10000/1",
  RATE_LIMIT_AUTH_PER_ACCOUNT_IP: "5000/1",
  RATE_LIMIT_AUTH_PER_ACCOUNT: "10000/1",
  RATE_LIMIT_SEND_PER_USER: "10000/1",
  RATE_LIMIT_TYPING_PER_USER: "10000/1",
  RATE_LIMIT_CALLS_PER_USER: "100000/1",
  RATE_LIMIT_CALLS_PER_IP: "100000/1",
  RATE_LIMIT_ROOM_CREATE_PER_USER: "10000/1",
  RATE_LIMIT_INVITE_PER_USER: "10000/1",
  RATE_LIMIT_OPEN_DIRECT_PER_USER: "10000/1",
  RATE_LIMIT_JOIN_BY_LINK_PER_USER: "10000/1",
  RATE_LIMIT_FRIEND_REQUEST_PER_USER: "10000/1",
  RATE_LIMIT_BLOCK_PER_USER: "10000/1",
  RATE_LIMIT_WS_TICKET_PER_USER: "10000/1",
  RATE_LIMIT_EMAIL_PER_USER: "10000/1",
  RATE_LIMIT_PASSWORD_RESET_PER_EMAIL: "10000/1",
  // Tests that watch someone go offline should not wait out the production grace.
  PRESENCE_OFFLINE_GRACE_MS: "300",
};

/** The environment every test server gets: TEST_SERVER_DEFAULTS in a data dir of its own; `env` overrides. */
function serverEnv(dataDir: string, env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...TEST_SERVER_DEFAULTS, DATA_DIR: dataDir, ...env };
}

/** What a server process that was expected to stop on its own printed, and how it exited. */
export interface ExitedServer {
  code: number | null;
  /** Raw stdout+stderr. */
  output: string;
  /** Every non-empty line of the output, parsed as JSON where it is JSON (else the raw string). */
  lines: (Record<string, unknown> | string)[];
}

/**
 * Starts a server that should refuse to start (a taken port or data dir, bad config) and waits for it to exit;
 * the same command and defaults as `startServer`. Kills it and fails if it is still running after `timeoutMs`.
 */
export async function runUntilExit(runtime: RuntimeName, env: Record<string, string> = {}, timeoutMs = 45_000): Promise<ExitedServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-server-"));
  const [command, ...args] = COMMANDS[runtime] as [string, ...string[]];
  const child = spawn(command, args, { cwd: ROOT, env: serverEnv(dataDir, env), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  rmSync(dataDir, { recursive: true, force: true });
  const lines = output
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return line;
      }
    });
  return { code, output, lines };
}

/** A process's resident set size in bytes (VmRSS in /proc/<pid>/status; Linux only). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}
