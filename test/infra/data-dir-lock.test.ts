import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataDirLockedError, type LockHolder, lockDataDir } from "../../src/infra/db/data-dir-lock.ts";

/** A process that is alive for the length of a test, and one that has already exited (and been reaped). */
async function processes(): Promise<{ alive: ChildProcess; deadPid: number }> {
  const alive = spawn("sleep", ["60"], { stdio: "ignore" });
  const dead = spawn("true", [], { stdio: "ignore" });
  await new Promise((resolve) => dead.once("exit", resolve));
  return { alive, deadPid: dead.pid ?? -1 };
}

function bootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return null;
  }
}

/**
 * The data dir lock on real files: who may take it, who is refused, and which leftovers count as stale. The
 * end-to-end story (real server processes on Bun, Deno and Node, kill -9) is test/e2e/data-dir-lock.test.ts.
 */
describe("lockDataDir", () => {
  let root: string;
  let dir: string;
  let lockFile: string;
  let alive: ChildProcess;
  let deadPid: number;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "parley-lock-unit-"));
    dir = join(root, "pglite");
    lockFile = `${dir}.lock`;
    ({ alive, deadPid } = await processes());
  });
  afterEach(() => {
    alive.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  });

  /** Writes a lock as another process would have left it. */
  const leave = (holder: Partial<LockHolder>): void =>
    writeFileSync(lockFile, JSON.stringify({ pid: alive.pid, runtime: "bun", hostname: hostname(), startedAt: "2026-01-01T00:00:00.000Z", bootId: bootId(), ...holder }));

  const refusal = (): DataDirLockedError => {
    try {
      lockDataDir({ dir, runtime: "node" }).release();
    } catch (error) {
      if (error instanceof DataDirLockedError) return error;
      throw error;
    }
    throw new Error("the lock was taken");
  };

  it("writes who holds it, and removes the file on release", () => {
    const lock = lockDataDir({ dir, runtime: "node" });
    expect(JSON.parse(readFileSync(lockFile, "utf8"))).toMatchObject({ pid: process.pid, runtime: "node", hostname: hostname() });
    lock.release();
    lock.release(); // idempotent
    expect(existsSync(lockFile)).toBe(false);
  });

  it("refuses while a live process on this host holds it, naming its pid, runtime and host", () => {
    leave({});
    const error = refusal();
    expect(error.holder).toMatchObject({ pid: alive.pid, runtime: "bun" });
    expect(error.message).toContain(`in use by pid ${alive.pid} (bun) on ${hostname()}`);
    expect(JSON.parse(readFileSync(lockFile, "utf8")).pid, "left untouched").toBe(alive.pid);
  });

  it("refuses a second open from the same process", () => {
    const lock = lockDataDir({ dir, runtime: "node" });
    try {
      expect(refusal().holder?.pid).toBe(process.pid);
    } finally {
      lock.release();
    }
  });

  it("never takes over a lock from another host, and says how to clear it", () => {
    leave({ pid: deadPid, hostname: "some-other-machine" });
    expect(refusal().message).toMatch(/on some-other-machine .*another host is never taken over/);
  });

  it("takes over a lock whose pid no longer runs, and reports the dead holder", () => {
    leave({ pid: deadPid });
    const stale: LockHolder[] = [];
    const lock = lockDataDir({ dir, runtime: "node", onStaleLock: (holder) => stale.push(holder) });
    expect(stale).toEqual([expect.objectContaining({ pid: deadPid, runtime: "bun" })]);
    expect(JSON.parse(readFileSync(lockFile, "utf8")).pid).toBe(process.pid);
    lock.release();
  });

  it.runIf(bootId() !== null)("takes over a lock written before the machine last booted, whatever its pid", () => {
    leave({ bootId: "00000000-0000-0000-0000-000000000000" });
    const lock = lockDataDir({ dir, runtime: "node" });
    expect(JSON.parse(readFileSync(lockFile, "utf8")).pid).toBe(process.pid);
    lock.release();
  });

  it("takes over a lock with our own pid written before this process started (a restarted container's pid 1)", () => {
    leave({ pid: process.pid, startedAt: new Date(Date.now() - process.uptime() * 1000 - 60_000).toISOString() });
    lockDataDir({ dir, runtime: "node" }).release();
  });

  it("takes over a lock file left empty or garbled by a process that died while writing it", () => {
    writeFileSync(lockFile, "");
    lockDataDir({ dir, runtime: "node" }).release();
    writeFileSync(lockFile, '{"pid": 12');
    lockDataDir({ dir, runtime: "node" }).release();
  });

  it("on release, leaves alone a lock someone else holds by then", () => {
    const lock = lockDataDir({ dir, runtime: "node" });
    leave({}); // e.g. an operator removed ours and another process started
    lock.release();
    expect(JSON.parse(readFileSync(lockFile, "utf8")).pid).toBe(alive.pid);
  });
});
