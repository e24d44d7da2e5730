import type { CeilingCase, CeilingJob } from "../baselines/postgres-ceiling.ts";
import type { ThroughputJob } from "../lib/jobs.ts";
import { createCpuMeter, runLoadgen } from "../lib/loadgen-runner.ts";
import { BUN, LOADGEN_CORE, spawnPinned } from "../lib/processes.ts";
import { emptyOutput, formatNumber, formatRatio, type ScenarioOutput } from "../lib/results.ts";
import { loggedErrors } from "../lib/servers.ts";
import { type ScenarioContext, withParley } from "./context.ts";

const CASES = [
  { label: "100 rooms", rooms: 100, roomsPerSender: 10, sendsTarget: 10_000 },
  { label: "1 hot room", rooms: 1, roomsPerSender: 1, sendsTarget: 5_000 },
];
const ACK_P99_TARGET_MS = 50;

/**
 * Persisted send throughput: 50 senders over 100 rooms and into one hot room, acknowledged sends per second and
 * ack latency, against the bare per-message transaction (bench/baselines/postgres-ceiling.ts) run in the same
 * benchmark with the same concurrency and room layout.
 */
export async function throughputScenario(context: ScenarioContext): Promise<ScenarioOutput> {
  const output = emptyOutput();
  const { profile } = context.options;
  const scenario = `Persisted send throughput, ${profile.throughput.senders} concurrent senders`;
  context.log("throughput: bare Postgres transaction (ceiling)");
  const ceiling = await runCeiling({
    adminUrl: context.options.adminUrl,
    connections: profile.throughput.senders,
    // The last case has one connection: the serial transaction latency, the floor under any ack.
    cases: [...CASES.map(({ rooms, roomsPerSender }) => ({ rooms, roomsPerSender })), { rooms: 1, roomsPerSender: 1, connections: 1 }],
    warmupMs: profile.warmupMs,
    measureMs: profile.measureMs,
  });
  const serial = ceiling[CASES.length] as CeilingCase;
  output.rows.push({
    scenario,
    case: "1 room, 1 connection",
    system: "pg-ceiling",
    metrics: { "sends/s": (serial.committed * 1000) / serial.windowMs, "ack p50 ms": serial.commit.p50, "ack p99 ms": serial.commit.p99 },
    note: "one transaction at a time: Postgres's own commit latency, the floor under any ack",
  });
  for (const [index, { label, rooms, roomsPerSender, sendsTarget }] of CASES.entries()) {
    const bare = ceiling[index] as CeilingCase;
    const ceilingRate = (bare.committed * 1000) / bare.windowMs;
    output.rows.push({
      scenario,
      case: label,
      system: "pg-ceiling",
      metrics: { "sends/s": ceilingRate, "ack p50 ms": bare.commit.p50, "ack p99 ms": bare.commit.p99 },
      note: `${profile.throughput.senders} connections, one transaction per message`,
    });
    context.log(`throughput: parley, ${label}`);
    await withParley(context, "throughput", 1, async (servers) => {
      const job: ThroughputJob = {
        kind: "throughput",
        target: { kind: "parley", urls: servers.map((server) => server.url) },
        senders: profile.throughput.senders,
        rooms,
        roomsPerSender,
        windows: profile.throughput.windows,
        warmupMs: profile.warmupMs,
        measureMs: profile.measureMs,
      };
      const meter = createCpuMeter(() => servers.map((server) => server.process));
      const result = await runLoadgen(job, meter.onCheckpoint, (message) => context.log(`  ${message}`));
      if (result.kind !== "throughput") throw new Error(`unexpected ${result.kind} result`);
      for (const phase of result.phases) {
        const usage = meter.usage(`w${phase.window}`);
        const rate = (phase.acked * 1000) / phase.windowMs;
        const caseLabel = `${label}, ${phase.window} in flight per sender`;
        output.rows.push({
          scenario,
          case: caseLabel,
          system: "parley",
          metrics: {
            "sends/s": rate,
            "ack p50 ms": phase.ack.p50,
            "ack p99 ms": phase.ack.p99,
            "server CPU %": (usage.serverCpuSeconds / usage.wallSeconds) * 100,
            "load gen CPU %": (usage.loadgenCpuSeconds / usage.wallSeconds) * 100,
            "vs ceiling": rate / ceilingRate,
          },
        });
        output.checks.push({
          scenario,
          case: caseLabel,
          target: `≥ ${formatNumber(sendsTarget)} sends/s and beats the bare transaction; ack p99 ≤ ${ACK_P99_TARGET_MS} ms`,
          measured: `${formatNumber(rate)}/s = ${formatRatio(rate / ceilingRate)} of the ceiling (${formatNumber(ceilingRate)}/s); ack p99 ${formatNumber(phase.ack.p99)} ms`,
          met: rate >= sendsTarget && rate > ceilingRate && phase.ack.p99 <= ACK_P99_TARGET_MS,
        });
        if (phase.errors > 0) output.problems.push(`${scenario}, ${caseLabel}: ${phase.errors} refused sends or dropped sockets`);
      }
      if (result.lost > 0 || result.duplicates > 0) {
        output.problems.push(`${scenario}, ${label}: ${result.lost} lost and ${result.duplicates} duplicated deliveries`);
      }
      for (const server of servers) {
        const errors = loggedErrors(server);
        if (errors.length > 0) output.problems.push(`${server.name} logged ${errors.length} error(s): ${errors[0]?.slice(0, 300)}`);
      }
    });
  }
  return output;
}

/** The ceiling script runs where the load generator would (it is the client); it prints one JSON line. */
async function runCeiling(job: CeilingJob): Promise<CeilingCase[]> {
  const child = spawnPinned(LOADGEN_CORE, [BUN, "bench/baselines/postgres-ceiling.ts", JSON.stringify(job)], {});
  let cases: CeilingCase[] | null = null;
  child.onLine((line) => {
    if (line.startsWith('{"kind":"ceiling"')) cases = (JSON.parse(line) as { cases: CeilingCase[] }).cases;
  });
  const code = await child.done;
  if (code !== 0 || cases === null) throw new Error(`postgres ceiling failed (exit ${code}):\n${child.output().slice(-3000)}`);
  return cases;
}
