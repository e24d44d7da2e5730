import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RuntimeName, runUntilExit } from "../support/server-process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * What an operator sees when a server cannot start: one JSON log line that says why, exit code 1, and what it had
 * opened closed again — never a runtime's raw stack.
 */
describe("a server that cannot start (real processes)", () => {
  let squatter: Server;
  let takenPort: number;

  beforeAll(async () => {
    squatter = createServer();
    takenPort = await new Promise<number>((resolve) => squatter.listen(0, "127.0.0.1", () => resolve((squatter.address() as { port: number }).port)));
  });
  afterAll(() => new Promise<void>((resolve) => squatter.close(() => resolve())));

  it.each(["bun", "deno", "node"] satisfies RuntimeName[])(
    "on %s, says in one JSON line that the port is in use, closes the database and exits 1",
    { timeout: 60_000 },
    async (runtime) => {
      // The embedded database on disk: its lock file is there exactly while the database is open.
      const dataDir = mkdtempSync(join(tmpdir(), "parley-port-"));
      try {
        const exited = await runUntilExit(runtime, { PORT: String(takenPort), DATABASE_URL: "", DATA_DIR: dataDir }, 30_000);
        expect(exited.code, exited.output).toBe(1);
        expect(exited.lines.filter((line) => typeof line === "string"), "nothing but JSON log lines").toEqual([]);
        const failures = exited.lines.filter((line) => typeof line === "object" && line.level !== "info" && line.level !== "debug");
        expect(failures, exited.output).toEqual([
          expect.objectContaining({ level: "error", msg: `port ${takenPort} on 127.0.0.1 is already in use`, port: takenPort, runtime }),
        ]);
        expect(existsSync(join(dataDir, "pglite")), "the database had been opened").toBe(true);
        expect(existsSync(join(dataDir, "pglite.lock")), "…and was closed before exiting").toBe(false);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  );
});

/** `bun src/runtime/migrate.ts`, as Fly's release_command runs it; resolves with its exit code and output. */
function migrate(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(join(ROOT, "node_modules/.bin/bun"), ["src/runtime/migrate.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, output })));
}

describe("the release command (src/runtime/migrate.ts)", () => {
  const production = { NODE_ENV: "production", JWT_SECRET: "a-production-secret-of-at-least-32-chars", ALLOWED_ORIGINS: "https://chat.example" };

  it("refuses in production without DATABASE_URL: one fatal JSON line naming it, exit 1", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "parley-migrate-"));
    try {
      const { code, output } = await migrate({ ...production, DATA_DIR: dataDir });
      expect(code, output).toBe(1);
      const lines = output.trim().split("\n");
      expect(lines, output).toHaveLength(1);
      expect(JSON.parse(lines[0] ?? "")).toMatchObject({ level: "fatal", issues: [expect.stringMatching(/^DATABASE_URL: required when NODE_ENV=production/)] });
      expect(existsSync(join(dataDir, "pglite")), "no throwaway database was created").toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("refuses in production on the embedded database, which a release machine cannot reach", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "parley-migrate-"));
    try {
      const { code, output } = await migrate({ ...production, DATABASE_URL: "embedded", DATA_DIR: dataDir });
      expect(code, output).toBe(1);
      const lines = output.trim().split("\n");
      expect(lines, output).toHaveLength(1);
      expect(JSON.parse(lines[0] ?? "")).toMatchObject({ level: "fatal", msg: expect.stringMatching(/DATABASE_URL must be a postgres:\/\/ URL/) });
      expect(existsSync(join(dataDir, "pglite"))).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("migrates the embedded database outside production and says so", { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "parley-migrate-"));
    try {
      const { code, output } = await migrate({ DATA_DIR: dataDir });
      expect(code, output).toBe(0);
      expect(JSON.parse(output.trim().split("\n").at(-1) ?? "")).toMatchObject({ level: "info", msg: "migrations applied", database: "pglite" });
      expect(existsSync(join(dataDir, "pglite.lock")), "the lock is released").toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
