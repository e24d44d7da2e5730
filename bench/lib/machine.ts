import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import postgres from "postgres";
import { BUN, ROOT } from "./processes.ts";

/** What the figures were measured on: they mean little without it. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  bun: string;
  postgres: string;
  redis: string;
  socketIo: string;
  /** 1-minute load average when the run started: above ~0.2 something else was using the cores. */
  loadAverage: number;
}

export async function describeMachine(adminUrl: string, redisUrl: string): Promise<Machine> {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    const [row] = await sql<{ server_version: string }[]>`show server_version`;
    await redis.connect();
    const info = await redis.info("server");
    return {
      cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
      bun: execFileSync(BUN, ["--version"], { encoding: "utf8" }).trim(),
      postgres: row?.server_version ?? "unknown",
      redis: /^redis_version:(.+)$/m.exec(info)?.[1]?.trim() ?? "unknown",
      loadAverage: loadavg()[0] ?? Number.NaN,
      socketIo: (JSON.parse(readFileSync(join(ROOT, "node_modules/socket.io/package.json"), "utf8")) as { version: string }).version,
    };
  } finally {
    await sql.end();
    redis.disconnect();
  }
}
