import type { JobResult, LoadgenLine } from "../lib/jobs.ts";

/**
 * The load generator's side of the line protocol with bench/run.ts: JSON lines out on stdout; at a checkpoint,
 * wait for one line back on stdin (the orchestrator has read the server's CPU or memory by then).
 */
const answers: (() => void)[] = [];
let buffered = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  buffered += chunk;
  for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
    buffered = buffered.slice(newline + 1);
    answers.shift()?.();
  }
});

function emit(line: LoadgenLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Announces the checkpoint and resolves once the orchestrator took its reading. */
export function checkpointReached(name: string): Promise<void> {
  const answered = new Promise<void>((resolve) => answers.push(resolve));
  emit({ kind: "checkpoint", name });
  return answered;
}

export function progress(message: string): void {
  emit({ kind: "progress", message });
}

export function finish(result: JobResult): never {
  emit({ kind: "result", result });
  process.exit(0);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `done()` or the deadline; resolves with whether it got done. */
export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}
