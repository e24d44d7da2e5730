import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { uniqueUsername } from "../support/factories.ts";
import { createHttpProbe, resultOf, type SignedUp, signUp } from "../support/http-probe.ts";
import { type ExitedServer, type RuntimeName, runUntilExit, startServer } from "../support/server-process.ts";

/** The zero-config default: no DATABASE_URL (empty counts as unset), so PGlite persisted under DATA_DIR/pglite. */
const embeddedOn = (dataDir: string): Record<string, string> => ({ DATABASE_URL: "", DATA_DIR: dataDir });

async function logIn(url: string, username: string): Promise<SignedUp> {
  const answer = await createHttpProbe(url).mutate("auth.login", { login: username, password: "correct horse battery staple", refreshTokenIn: "body" });
  return resultOf<SignedUp>(answer);
}

/** The JSON lines a refused process printed at level error or fatal, and anything it printed that was not JSON. */
function failureLines(exited: ExitedServer): unknown[] {
  return exited.lines.filter((line) => typeof line === "string" || line.level === "error" || line.level === "fatal");
}

/**
 * Two processes on one embedded database overwrite each other's writes (a user registered on one was gone for
 * good). The data dir is locked by the process that opened it: a second one, on any runtime, refuses to start and
 * says who holds it; the lock goes with a clean shutdown and is taken over after kill -9.
 */
describe("the embedded database's data dir lock (real processes)", () => {
  it("refuses a second process on the same DATA_DIR with one line naming the holder's pid and runtime, exit 1", { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "parley-lock-"));
    const lockFile = join(dataDir, "pglite.lock");
    try {
      const holder = await startServer("bun", embeddedOn(dataDir));
      const username = uniqueUsername("locked");
      try {
        await signUp(createHttpProbe(holder.url), username);
        expect(JSON.parse(readFileSync(lockFile, "utf8"))).toMatchObject({ pid: holder.pid, runtime: "bun" });

        for (const runtime of ["node", "deno", "bun"] satisfies RuntimeName[]) {
          const second = await runUntilExit(runtime, embeddedOn(dataDir), 30_000);
          expect(second.code, second.output).toBe(1);
          expect(failureLines(second), second.output).toEqual([
            expect.objectContaining({
              level: "error",
              msg: expect.stringContaining(`in use by pid ${holder.pid} (bun)`),
              holder: expect.objectContaining({ pid: holder.pid, runtime: "bun" }),
              lock: lockFile,
            }),
          ]);
        }
        // The holder never noticed: still serving, its accounts intact.
        expect((await logIn(holder.url, username)).user.username).toBe(username);
      } finally {
        expect(await holder.stop()).toBe(0);
      }
      expect(existsSync(lockFile), "a clean shutdown releases the lock").toBe(false);

      const next = await startServer("node", embeddedOn(dataDir));
      try {
        expect((await logIn(next.url, username)).user.username).toBe(username);
        expect(JSON.parse(readFileSync(lockFile, "utf8"))).toMatchObject({ pid: next.pid, runtime: "node" });
      } finally {
        expect(await next.stop()).toBe(0);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("takes over the lock of a process killed with SIGKILL, says so, and keeps what it had committed", { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "parley-lock-"));
    const lockFile = join(dataDir, "pglite.lock");
    try {
      const killed = await startServer("node", embeddedOn(dataDir));
      const username = uniqueUsername("survivor");
      await signUp(createHttpProbe(killed.url), username);
      expect(await killed.stop("SIGKILL")).toBeNull();
      expect(JSON.parse(readFileSync(lockFile, "utf8")), "kill -9 leaves the lock behind").toMatchObject({ pid: killed.pid });

      const next = await startServer("bun", embeddedOn(dataDir));
      try {
        expect(next.logs.find((line) => line.level === "warn" && String(line.msg).includes("lock"))).toMatchObject({
          stale: { pid: killed.pid, runtime: "node" },
        });
        expect(JSON.parse(readFileSync(lockFile, "utf8"))).toMatchObject({ pid: next.pid, runtime: "bun" });
        expect((await logIn(next.url, username)).user.username).toBe(username);
      } finally {
        expect(await next.stop()).toBe(0);
      }
      expect(existsSync(lockFile)).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
