import type { FanoutJob, FanoutPhase, FanoutTarget } from "../lib/jobs.ts";
import { createCpuMeter, runLoadgen, type PhaseUsage } from "../lib/loadgen-runner.ts";
import { emptyOutput, formatNumber, formatRatio, type ResultRow, type ScenarioOutput } from "../lib/results.ts";
import { type RunningServer, loggedErrors, startBareBun, startSocketIo } from "../lib/servers.ts";
import { type ScenarioContext, withParley } from "./context.ts";

/** Above this share of its core a process is the bottleneck. */
const SATURATED = 0.9;

interface Measured {
  system: string;
  phases: { phase: FanoutPhase; usage: PhaseUsage }[];
}

/**
 * Ephemeral fan-out (typing): N sockets in one room, 1…10 of them sending typing frames as fast as deliveries
 * come back, against the bare Bun pub/sub server and a plain Socket.IO server — the same load generator, the
 * same frames, servers on one core and the load generator on the other.
 */
export async function fanoutScenario(context: ScenarioContext): Promise<ScenarioOutput> {
  const output = emptyOutput();
  const { profile } = context.options;
  for (const clients of profile.fanout.clients) {
    const job = (target: FanoutTarget): FanoutJob => ({
      kind: "fanout",
      target,
      clients,
      users: Math.min(clients, profile.fanout.maxUsers),
      senderCounts: profile.fanout.senderCounts,
      windowPerSender: profile.fanout.windowPerSender,
      latencyReceivers: profile.fanout.latencyReceivers,
      warmupMs: profile.warmupMs,
      measureMs: profile.measureMs,
    });
    const measure = async (system: string, servers: RunningServer[], target: FanoutTarget): Promise<Measured> => {
      context.log(`fan-out: ${clients} clients on ${system}`);
      const meter = createCpuMeter(() => servers.map((server) => server.process));
      const result = await runLoadgen(job(target), meter.onCheckpoint, (message) => context.log(`  ${message}`));
      if (result.kind !== "fanout") throw new Error(`unexpected ${result.kind} result`);
      for (const server of servers) {
        const errors = loggedErrors(server);
        if (errors.length > 0) output.problems.push(`${system} logged ${errors.length} error(s) during fan-out: ${errors[0]?.slice(0, 300)}`);
      }
      return { system, phases: result.phases.map((phase) => ({ phase, usage: meter.usage(`${phase.senders}`) })) };
    };
    const bare = await withServer(startBareBun, (server) => measure("bare-bun", [server], { kind: "bare", url: server.url }));
    const parley = await withParley(context, "fanout", 1, (servers) =>
      measure("parley", servers, { kind: "parley", urls: servers.map((server) => server.url) }),
    );
    const socketIo = await withServer(startSocketIo, (server) => measure("socket.io", [server], { kind: "socketio", url: server.url }));
    summarise(output, `Ephemeral fan-out, ${clients} clients in one room`, bare, [parley, socketIo]);
  }
  return output;
}

async function withServer<T>(start: () => Promise<RunningServer>, body: (server: RunningServer) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

function summarise(output: ScenarioOutput, scenario: string, bare: Measured, others: Measured[]): void {
  for (const [index, { phase, usage }] of bare.phases.entries()) {
    const bareRow = row(scenario, bare.system, phase, usage);
    output.rows.push(bareRow);
    for (const other of others) {
      const measured = other.phases[index];
      if (!measured) continue;
      const otherRow = row(scenario, other.system, measured.phase, measured.usage);
      const delivered = (otherRow.metrics["delivered/s"] ?? 0) / (bareRow.metrics["delivered/s"] ?? 1);
      const capacity = (otherRow.metrics["deliveries/CPU-s"] ?? 0) / (bareRow.metrics["deliveries/CPU-s"] ?? 1);
      otherRow.metrics["delivered/s vs bare"] = delivered;
      otherRow.metrics["deliveries/CPU-s vs bare"] = capacity;
      output.rows.push(otherRow);
      if (measured.phase.errors > 0) output.problems.push(`${scenario}, ${other.system}: ${measured.phase.errors} refused frames or dropped sockets`);
      if (other.system !== "parley") continue;
      const serverShares = [bareRow, otherRow].map((r) => r.metrics["server CPU %"] ?? 0);
      const unsaturated = serverShares.some((share) => share < SATURATED * 100);
      output.checks.push({
        scenario,
        case: otherRow.case,
        target: "delivered msgs/s ≥ 70 % of the bare Bun server's",
        measured: `${formatNumber(otherRow.metrics["delivered/s"] ?? Number.NaN)}/s = ${formatRatio(delivered)} (per server CPU-second: ${formatRatio(capacity)})`,
        met: delivered >= 0.7,
        ...(unsaturated
          ? {
              caveat: `a server did not saturate its core (bare ${serverShares[0]?.toFixed(0)} %, Parley ${serverShares[1]?.toFixed(0)} % CPU): delivered/s then reflects the load generator or other load on the machine; deliveries per server CPU-second compare the servers`,
            }
          : {}),
      });
    }
    if (bare.phases[index]?.phase.errors) output.problems.push(`${scenario}, bare-bun: ${bare.phases[index]?.phase.errors} dropped sockets`);
  }
}

function row(scenario: string, system: string, phase: FanoutPhase, usage: PhaseUsage): ResultRow {
  const delivered = (phase.delivered * 1000) / phase.windowMs;
  const serverShare = usage.serverCpuSeconds / usage.wallSeconds;
  const loadgenShare = usage.loadgenCpuSeconds / usage.wallSeconds;
  const bound = [serverShare >= SATURATED && "server", loadgenShare >= SATURATED && "load generator"].filter(Boolean);
  return {
    scenario,
    case: `${phase.senders} sender${phase.senders === 1 ? "" : "s"}`,
    system,
    metrics: {
      "delivered/s": delivered,
      "server CPU %": serverShare * 100,
      "CPU µs/delivery": (usage.serverCpuSeconds * 1e6) / Math.max(1, phase.delivered),
      "deliveries/CPU-s": phase.delivered / Math.max(1e-9, usage.serverCpuSeconds),
      "p50 ms": phase.latency.p50,
      "p99 ms": phase.latency.p99,
      "load gen CPU %": loadgenShare * 100,
    },
    ...(bound.length > 0 ? { note: `${bound.join(" and ")} saturated` } : {}),
  };
}
