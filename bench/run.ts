// `npm run bench [-- --quick] [-- --write] [-- --only=fanout,persisted,throughput,idle,storm,history]`: every scenario, one
// after the other, each starting its own servers (pinned to core 0) and load generator (pinned to core 1), with
// its baselines measured in the same run. Prints the tables, saves bench/results/<timestamp>.json and, with
// --write, rewrites the results section of BENCHMARKS.md. Exits 1 if a scenario errored (lost messages, refused
// frames, a crash); a performance target that is missed is reported, not a failure.
import { loadavg } from "node:os";
import { describeMachine } from "./lib/machine.ts";
import { type ScenarioName, parseOptions } from "./lib/profile.ts";
import { printReport, type Report, saveReport, writeBenchmarksMd } from "./lib/report.ts";
import { emptyOutput, merge, type ScenarioOutput } from "./lib/results.ts";
import type { ScenarioContext } from "./scenarios/context.ts";
import { fanoutScenario } from "./scenarios/fanout.ts";
import { historyScenario } from "./scenarios/history.ts";
import { idleScenario } from "./scenarios/idle.ts";
import { persistedScenario } from "./scenarios/persisted.ts";
import { stormScenario } from "./scenarios/storm.ts";
import { throughputScenario } from "./scenarios/throughput.ts";

const SCENARIOS: Record<ScenarioName, (context: ScenarioContext) => Promise<ScenarioOutput>> = {
  fanout: fanoutScenario,
  persisted: persistedScenario,
  throughput: throughputScenario,
  idle: idleScenario,
  storm: stormScenario,
  history: historyScenario,
};

const argv = process.argv.slice(2);
const options = parseOptions(argv);
const startedAt = new Date().toISOString();
const log = (message: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const context: ScenarioContext = { options, log };

const machine = await describeMachine(options.adminUrl, options.redisUrl);
const output = emptyOutput();
const failures: Report["failures"] = [];
for (const name of options.only) {
  log(`scenario ${name} (${options.profile.name})`);
  try {
    merge(output, await SCENARIOS[name](context));
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`scenario ${name} FAILED: ${message}`);
    failures.push({ scenario: name, error: message });
  }
}

const report: Report = {
  ...output,
  startedAt,
  command: ["npm run bench", ...(argv.length > 0 ? ["--", ...argv] : [])].join(" "),
  profile: options.profile.name,
  machine,
  failures,
  loadAverageAtEnd: loadavg()[0] ?? Number.NaN,
};
printReport(report, (line) => console.log(line));
log(`results saved to ${saveReport(report)}`);
if (options.write) {
  const heading =
    options.profile.name === "quick"
      ? "**Preliminary and noisy**: a `--quick` smoke run (short windows, fewer accounts) on a machine shared with other work. Replace with a full run on a quiet machine."
      : "Full run.";
  writeBenchmarksMd(report, heading);
  log("BENCHMARKS.md results section rewritten");
}
process.exit(failures.length > 0 || output.problems.length > 0 ? 1 : 0);
