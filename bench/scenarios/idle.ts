import type { IdleJob } from "../lib/jobs.ts";
import { checkpoint } from "../lib/jobs.ts";
import { runLoadgen } from "../lib/loadgen-runner.ts";
import { emptyOutput, formatNumber, formatRatio, type ScenarioOutput } from "../lib/results.ts";
import { type RunningServer, scrapeMetric, startBareBun } from "../lib/servers.ts";
import { type ScenarioContext, withParley } from "./context.ts";

const RATIO_TARGET = 2;

/** The layouts a deployment may have: where memory per socket went before, a layout hid it (BENCHMARKS.md). */
const LAYOUTS: { rooms: number; database: "postgres" | "embedded"; label: string }[] = [
  { rooms: 100, database: "postgres", label: "100 rooms, Postgres" },
  { rooms: 1, database: "postgres", label: "one room, Postgres" },
  { rooms: 1, database: "embedded", label: "one room, embedded default" },
];

/**
 * Idle authenticated sockets on one instance: the server's RSS growth per socket between a reading taken once
 * everything else exists (accounts, rooms, tickets) and one taken with every socket open and settled, against
 * the bare Bun server holding the same number of sockets in the same number of topics. Every layout must stay
 * within RATIO_TARGET× the bare server: 100 rooms and one big room, on Postgres and on the embedded default.
 */
export async function idleScenario(context: ScenarioContext): Promise<ScenarioOutput> {
  const output = emptyOutput();
  const { sockets, users, settleMs } = context.options.profile.idle;
  const scenario = `Idle sockets, ${formatNumber(sockets)} on one instance`;
  const measure = async (system: string, layout: string, server: RunningServer, job: Omit<IdleJob, "kind" | "sockets" | "users" | "settleMs">): Promise<number> => {
    context.log(`idle: ${sockets} sockets on ${system}, ${layout}`);
    const readings = new Map<string, number>();
    const heap = new Map<string, number>();
    const result = await runLoadgen(
      { kind: "idle", sockets, users, settleMs, ...job },
      async (name) => {
        readings.set(name, server.process.rssBytes());
        // Where the growth is: the JS heap (Parley's objects, and garbage not yet collected) or outside it.
        if (system === "parley") heap.set(name, await scrapeMetric(server, "nodejs_heap_size_used_bytes"));
      },
      (message) => context.log(`  ${message}`),
    );
    if (result.kind !== "idle") throw new Error(`unexpected ${result.kind} result`);
    if (result.dropped > 0) output.problems.push(`${scenario}, ${system} (${layout}): ${result.dropped} sockets dropped while idle`);
    const before = readings.get(checkpoint.idleBefore) ?? Number.NaN;
    const held = readings.get(checkpoint.idleHeld) ?? Number.NaN;
    const perSocket = (held - before) / result.sockets;
    output.rows.push({
      scenario,
      case: system === "parley" ? `${layout}, ${Math.min(users, sockets)} users` : layout,
      system,
      metrics: {
        sockets: result.sockets,
        "RSS before MiB": before / 2 ** 20,
        "RSS held MiB": held / 2 ** 20,
        "KiB/socket": perSocket / 1024,
        "heap KiB/socket": ((heap.get(checkpoint.idleHeld) ?? Number.NaN) - (heap.get(checkpoint.idleBefore) ?? Number.NaN)) / result.sockets / 1024,
      },
    });
    return perSocket;
  };
  const bare = new Map<number, number>();
  for (const rooms of new Set(LAYOUTS.map((layout) => layout.rooms))) {
    const server = await startBareBun();
    try {
      const label = rooms === 1 ? "one topic" : `${rooms} topics`;
      bare.set(rooms, await measure("bare-bun", label, server, { target: { kind: "bare", url: server.url }, layout: { rooms } }));
    } finally {
      await server.stop();
    }
  }
  for (const layout of LAYOUTS) {
    const parley = await withParley(
      context,
      "idle",
      1,
      ([server]) =>
        measure("parley", layout.label, server as RunningServer, {
          target: { kind: "parley", urls: [(server as RunningServer).url] },
          layout: { rooms: layout.rooms },
        }),
      { database: layout.database },
    );
    const baseline = bare.get(layout.rooms) ?? Number.NaN;
    const ratio = parley / baseline;
    output.checks.push({
      scenario,
      case: `RSS per socket, ${layout.label}`,
      target: `≤ ${RATIO_TARGET}× the bare Bun server's`,
      measured: `${formatNumber(parley / 1024)} KiB vs ${formatNumber(baseline / 1024)} KiB = ${formatRatio(ratio)}`,
      met: ratio <= RATIO_TARGET,
    });
  }
  return output;
}
