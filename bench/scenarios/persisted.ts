import type { PersistedJob } from "../lib/jobs.ts";
import { createCpuMeter, runLoadgen } from "../lib/loadgen-runner.ts";
import { emptyOutput, formatNumber, type ScenarioOutput } from "../lib/results.ts";
import { loggedErrors } from "../lib/servers.ts";
import { type ScenarioContext, withParley } from "./context.ts";

const CASES = [
  { instances: 1, label: "1 instance", p99TargetMs: 25 },
  { instances: 2, label: "2 instances via Redis", p99TargetMs: 50 },
];

/**
 * Persisted messages into one room of `clients` sockets at a fixed rate: send → `message.created` at every
 * socket (p50/p99), on one instance and on two joined by Redis. Lost or duplicated deliveries fail the run.
 */
export async function persistedScenario(context: ScenarioContext): Promise<ScenarioOutput> {
  const output = emptyOutput();
  const { profile } = context.options;
  const { clients, users, senders, sendsPerSecond } = profile.persisted;
  const scenario = `Persisted messages, ${clients} clients in one room, ${sendsPerSecond} sends/s`;
  for (const { instances, label, p99TargetMs } of CASES) {
    context.log(`persisted: ${label}`);
    await withParley(context, "persisted", instances, async (servers) => {
      const job: PersistedJob = {
        kind: "persisted",
        target: { kind: "parley", urls: servers.map((server) => server.url) },
        clients,
        users,
        senders,
        sendsPerSecond,
        warmupMs: context.options.profile.warmupMs,
        measureMs: context.options.profile.measureMs,
      };
      const meter = createCpuMeter(() => servers.map((server) => server.process));
      const result = await runLoadgen(job, meter.onCheckpoint, (message) => context.log(`  ${message}`));
      if (result.kind !== "persisted") throw new Error(`unexpected ${result.kind} result`);
      const usage = meter.usage("persisted");
      output.rows.push({
        scenario,
        case: label,
        system: "parley",
        metrics: {
          "sends/s": (result.delivered * 1000) / result.windowMs / clients,
          "delivered/s": (result.delivered * 1000) / result.windowMs,
          "deliver p50 ms": result.deliver.p50,
          "deliver p99 ms": result.deliver.p99,
          "deliver max ms": result.deliver.max,
          "ack p50 ms": result.ack.p50,
          "ack p99 ms": result.ack.p99,
          "server CPU %": (usage.serverCpuSeconds / usage.wallSeconds) * 100,
          "load gen CPU %": (usage.loadgenCpuSeconds / usage.wallSeconds) * 100,
          lost: result.lost,
          duplicates: result.duplicates,
        },
      });
      output.checks.push({
        scenario,
        case: label,
        target: `send → deliver p99 ≤ ${p99TargetMs} ms`,
        measured: `p99 ${formatNumber(result.deliver.p99)} ms (p50 ${formatNumber(result.deliver.p50)} ms)`,
        met: result.deliver.p99 <= p99TargetMs,
      });
      if (result.lost > 0 || result.duplicates > 0 || result.errors > 0) {
        output.problems.push(`${scenario}, ${label}: ${result.lost} lost, ${result.duplicates} duplicated deliveries, ${result.errors} refused or unacknowledged sends / dropped sockets`);
      }
      for (const server of servers) {
        const errors = loggedErrors(server);
        if (errors.length > 0) output.problems.push(`${server.name} logged ${errors.length} error(s): ${errors[0]?.slice(0, 300)}`);
      }
    });
  }
  return output;
}
