import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const BUN = join(ROOT, "node_modules/.bin/bun");

/** Cores: servers on one, the load generator on the other, so neither steals the other's CPU. */
export const SERVER_CORE = 0;
export const LOADGEN_CORE = 1;

/** `/proc/<pid>/stat` counts CPU time in clock ticks; 100 per second on Linux x86-64 (`getconf CLK_TCK`). */
const CLOCK_TICKS_PER_SECOND = 100;

export interface PinnedProcess {
  readonly pid: number;
  readonly exited: boolean;
  /** User + system CPU seconds of the process, all its threads included. */
  cpuSeconds(): number;
  /** Resident set size, in bytes. */
  rssBytes(): number;
  /** Everything it printed, for failure messages (the tail is what matters). */
  output(): string;
  /** Calls `onLine` for every stdout line from now on. */
  onLine(listener: (line: string) => void): void;
  write(line: string): void;
  /** Resolves with the exit code. */
  done: Promise<number | null>;
  /** Sends a signal now (SIGKILL: a crash; SIGTERM: a deploy) without waiting for the exit. */
  signal(name: NodeJS.Signals): void;
  stop(): Promise<number | null>;
}

/** Every child still running; killed if the orchestrator itself exits or is interrupted, so no server outlives it. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});
process.once("SIGINT", () => process.exit(130));

/** Starts `command` under `taskset -c <core>` (taskset execs it: the pid is the command's own). */
export function spawnPinned(core: number, command: string[], env: Record<string, string>): PinnedProcess {
  const child: ChildProcess = spawn("taskset", ["-c", String(core), ...command], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  running.add(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command.join(" ")}`);
  let output = "";
  let exited = false;
  let partial = "";
  const listeners: ((line: string) => void)[] = [];
  const remember = (text: string): void => {
    output = (output + text).slice(-20_000);
  };
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    remember(chunk);
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) for (const listener of listeners) listener(line);
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", remember);
  child.stdin?.on("error", () => {}); // writing to a process that just died is reported by `done`, not here
  const done = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = true;
      running.delete(child);
      resolve(code ?? (signal ? 128 : null));
    }),
  );
  return {
    pid,
    get exited() {
      return exited;
    },
    cpuSeconds: () => readCpuSeconds(pid),
    rssBytes: () => readRssBytes(pid),
    output: () => output,
    onLine: (listener) => void listeners.push(listener),
    write: (line) => void child.stdin?.write(`${line}\n`),
    done,
    signal: (name) => void child.kill(name),
    async stop() {
      if (!exited) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await done;
      clearTimeout(timer);
      return code;
    },
  };
}

export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may contain spaces) start at state: utime and stime are 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** A port nobody listens on right now (the kernel's pick, released for the server to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200; fails early if the process exits. */
export async function waitForHttp(url: string, process: PinnedProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (process.exited) throw new Error(`exited before answering ${url}:\n${process.output().slice(-3000)}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${process.output().slice(-3000)}`);
}
