import { BUN, LOADGEN_CORE, spawnPinned, type PinnedProcess } from "./processes.ts";
import type { Job, JobResult, LoadgenLine } from "./jobs.ts";

/** A job that has not finished by then has hung: fail it rather than the whole night. */
const JOB_TIMEOUT_MS = 20 * 60_000;

/**
 * Runs one job in the load generator (Bun, pinned to the load-generator core). `onCheckpoint` runs synchronously
 * when the load generator reaches a checkpoint, which waits until it returned: that is where readings are taken.
 */
export async function runLoadgen(
  job: Job,
  onCheckpoint: (name: string, loadgen: PinnedProcess) => void | Promise<void>,
  log: (message: string) => void,
): Promise<JobResult> {
  const child = spawnPinned(LOADGEN_CORE, [BUN, "bench/loadgen/main.ts", JSON.stringify(job)], {});
  let result: JobResult | null = null;
  let failure: Error | null = null;
  child.onLine((raw) => {
    if (!raw.startsWith("{")) return;
    let line: LoadgenLine;
    try {
      line = JSON.parse(raw) as LoadgenLine;
    } catch {
      return; // not a protocol line
    }
    if (line.kind === "checkpoint") {
      // Readings that take a moment (a scrape of /metrics) may be async: the load generator waits for "ok".
      const answer = (error?: unknown): void => {
        if (error !== undefined) failure ??= error instanceof Error ? error : new Error(String(error));
        child.write("ok");
      };
      try {
        const reading = onCheckpoint(line.name, child);
        if (reading instanceof Promise) reading.then(() => answer(), answer);
        else answer();
      } catch (error) {
        answer(error);
      }
    } else if (line.kind === "progress") {
      log(line.message);
    } else {
      result = line.result;
    }
  });
  const timer = setTimeout(() => void child.stop(), JOB_TIMEOUT_MS);
  const code = await child.done;
  clearTimeout(timer);
  if (failure) throw failure;
  if (code !== 0 || result === null) throw new Error(`load generator failed (exit ${code}):\n${child.output().slice(-4000)}`);
  return result;
}

/** CPU readings between a phase's start and end checkpoints. */
export interface PhaseUsage {
  wallSeconds: number;
  /** Summed over the server processes. */
  serverCpuSeconds: number;
  loadgenCpuSeconds: number;
}

/** Takes readings at `start:<label>` / `end:<label>` checkpoints; `usage(label)` gives the difference. */
export function createCpuMeter(servers: () => PinnedProcess[]): {
  onCheckpoint: (name: string, loadgen: PinnedProcess) => void;
  usage(label: string): PhaseUsage;
} {
  const readings = new Map<string, { at: number; server: number; loadgen: number }>();
  return {
    onCheckpoint(name, loadgen) {
      const server = servers().reduce((sum, child) => sum + child.cpuSeconds(), 0);
      readings.set(name, { at: performance.now(), server, loadgen: loadgen.cpuSeconds() });
    },
    usage(label) {
      const start = readings.get(`start:${label}`);
      const end = readings.get(`end:${label}`);
      if (!start || !end) throw new Error(`no CPU readings for phase ${label}`);
      return { wallSeconds: (end.at - start.at) / 1000, serverCpuSeconds: end.server - start.server, loadgenCpuSeconds: end.loadgen - start.loadgen };
    },
  };
}
