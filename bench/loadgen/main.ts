// The load generator: a Bun process (many sockets per process, native WebSocket client) pinned to its own core by
// bench/run.ts. Runs the one job given as JSON in argv[2]; talks to the orchestrator through ./control.ts.
import type { Job, JobResult } from "../lib/jobs.ts";
import { finish } from "./control.ts";
import { runFanout } from "./fanout.ts";
import { runHistory } from "./history.ts";
import { runIdle } from "./idle.ts";
import { runPersisted } from "./persisted.ts";
import { runStorm } from "./storm.ts";
import { runThroughput } from "./throughput.ts";

async function run(job: Job): Promise<JobResult> {
  switch (job.kind) {
    case "fanout":
      return { kind: "fanout", phases: await runFanout(job) };
    case "persisted":
      return { kind: "persisted", ...(await runPersisted(job)) };
    case "throughput":
      return { kind: "throughput", ...(await runThroughput(job)) };
    case "idle":
      return { kind: "idle", ...(await runIdle(job)) };
    case "storm":
      return { kind: "storm", ...(await runStorm(job)) };
    case "history":
      return { kind: "history", ...(await runHistory(job)) };
  }
}

const job = JSON.parse(process.argv[2] ?? "null") as Job;
run(job).then(finish, (error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
