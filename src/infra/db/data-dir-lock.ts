import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";

/** Who holds an embedded database's data dir: written into the lock file by the process that took it. */
export interface LockHolder {
  pid: number;
  runtime: string;
  hostname: string;
  /** When the holder took the lock (ISO 8601). */
  startedAt: string;
  /** Linux's boot id: a lock written before the machine last booted is stale whatever its pid says. */
  bootId: string | null;
}

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/** Another live process holds the data dir; `holder` says which. */
export class DataDirLockedError extends Error {
  constructor(
    readonly path: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder ? `pid ${holder.pid} (${holder.runtime}) on ${holder.hostname} since ${holder.startedAt}` : "an unknown process";
    const remote = holder && holder.hostname !== hostname() ? "; a lock from another host is never taken over: if nothing runs there any more, delete it" : "";
    super(`the embedded database is in use by ${who}; only one process may open it (lock file: ${path}${remote})`);
    this.name = "DataDirLockedError";
  }
}

/**
 * Takes the exclusive lock of an embedded database's data dir: `<dir>.lock`, created with O_EXCL ("wx") so exactly
 * one process can create it, and holding the holder's pid, runtime, host and boot id. Runtime-neutral (node:fs
 * works the same on Bun, Deno and Node); the kernel's flock would be sturdier but Node and Bun do not expose it.
 *
 * A lock left behind by a process that died without releasing it (kill -9, a crash) is recovered: it is stale when
 * its holder is provably gone — same host and the pid no longer runs (or is a zombie), the lock was written before
 * this machine's last boot, or it carries our own pid but predates this process (a restarted container is pid 1
 * again). A lock from another host cannot be checked and is never taken over. Throws DataDirLockedError when a live
 * holder has it.
 */
export function lockDataDir(options: {
  dir: string;
  runtime: string;
  /** Called when a dead holder's lock was taken over, so the operator hears about the crash it reveals. */
  onStaleLock?: (stale: LockHolder) => void;
}): DataDirLock {
  const path = `${options.dir}.lock`;
  const ours: LockHolder = {
    pid: process.pid,
    runtime: options.runtime,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    bootId: currentBootId(),
  };
  const content = JSON.stringify(ours);
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path, content)) return ownedLock(path, content);
    const existing = readHolder(path);
    if (existing === "missing") continue; // released between our create and our read: try again
    if (existing === "unreadable") {
      // A holder writes its record right after creating the file; an empty or garbled one for a while is a
      // process that died in between.
      if (attempt < 2) {
        sleepSync(100);
        continue;
      }
    } else if (!isStale(existing, ours)) {
      throw new DataDirLockedError(path, existing);
    }
    if (!removeIfUnchanged(path, existing)) continue;
    if (!tryCreate(path, content)) continue;
    // Two processes recovering the same stale lock at once could both remove-then-create; the later one's file
    // wins, and the other sees that here and backs off.
    sleepSync(50);
    if (readRaw(path) !== content) throw new DataDirLockedError(path, asHolder(readHolder(path)));
    if (existing !== "unreadable") options.onStaleLock?.(existing);
    return ownedLock(path, content);
  }
  throw new DataDirLockedError(path, asHolder(readHolder(path)));
}

function ownedLock(path: string, content: string): DataDirLock {
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      if (readRaw(path) === content) unlinkSync(path); // never remove a lock someone else took after ours was stolen
    },
  };
}

function isStale(holder: LockHolder, ours: LockHolder): boolean {
  if (holder.hostname !== ours.hostname) return false; // another machine's process: we cannot see it, so it holds
  if (holder.bootId && ours.bootId && holder.bootId !== ours.bootId) return true;
  if (holder.pid === ours.pid) {
    // Our own pid: taken earlier by this very process (a second open: held), or by a previous life of a container
    // whose entry point is always the same pid (stale) — told apart by whether it predates this process.
    return Date.parse(holder.startedAt) < Date.now() - process.uptime() * 1000;
  }
  return !isRunning(holder.pid);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
  } catch (error) {
    return !(error instanceof Error && "code" in error && error.code === "ESRCH"); // EPERM: alive, another user's
  }
  return !isZombie(pid);
}

/** A killed process stays a zombie until its parent reaps it (for ever under an init that never does). */
function isZombie(pid: number): boolean {
  try {
    // "pid (comm) S …": the state follows the last ")" (comm itself may contain parentheses).
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch {
    return false; // no /proc (not Linux): kill(pid, 0) alone decides
  }
}

function tryCreate(path: string, content: string): boolean {
  try {
    writeFileSync(path, content, { flag: "wx", mode: 0o644 });
    return true;
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "EEXIST") return false;
    throw error;
  }
}

function readRaw(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function readHolder(path: string): LockHolder | "missing" | "unreadable" {
  const raw = readRaw(path);
  if (raw === null) return "missing";
  try {
    const parsed = JSON.parse(raw) as Partial<LockHolder>;
    if (typeof parsed.pid === "number" && typeof parsed.hostname === "string") {
      return {
        pid: parsed.pid,
        runtime: String(parsed.runtime ?? "unknown"),
        hostname: parsed.hostname,
        startedAt: String(parsed.startedAt ?? "unknown"),
        bootId: typeof parsed.bootId === "string" ? parsed.bootId : null,
      };
    }
  } catch {
    // falls through
  }
  return "unreadable";
}

function asHolder(value: LockHolder | "missing" | "unreadable"): LockHolder | null {
  return typeof value === "string" ? null : value;
}

/** Removes the lock only if it still holds what we judged stale (a fresh holder may have replaced it meanwhile). */
function removeIfUnchanged(path: string, judged: LockHolder | "unreadable"): boolean {
  const now = readHolder(path);
  if (now === "missing") return true;
  if (judged === "unreadable" ? now !== "unreadable" : JSON.stringify(now) !== JSON.stringify(judged)) return false;
  try {
    unlinkSync(path);
  } catch (error) {
    if (!(error instanceof Error && "code" in error && error.code === "ENOENT")) throw error;
  }
  return true;
}

function currentBootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
  } catch {
    return null; // not Linux: pid liveness alone decides
  }
}

/** Boot-time only, and rare (a lock being written or contended): a short synchronous pause is fine here. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
