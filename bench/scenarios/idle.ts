import type { IdleJob } from "../lib/jobs.ts";
import { checkpoint } from "../lib/jobs.ts";
import { runLoadgen } from "../lib/loadgen-runner.ts";
import { emptyOutput, formatNumber, formatRatio, type ScenarioOutput } from "../lib/results.ts";
import { type RunningServer, startBareBun } from "../lib/servers.ts";
import { type ScenarioContext, withParley } from "./context.ts";

const RATIO_TARGET = 2;

/**
 * Idle authenticated sockets on one instance: the server's RSS growth per socket between a reading taken once
 * everything else exists (accounts, rooms, tickets) and one taken with every socket open and settled, against
 * the bare Bun server holding the same number of sockets (each subscribed to one of 100 topics).
 */
export async function idleScenario(context: ScenarioContext): Promise<ScenarioOutput> {
  const output = emptyOutput();
  const { sockets, users, settleMs } = context.options.profile.idle;
  const scenario = `Idle sockets, ${formatNumber(sockets)} on one instance`;
  const measure = async (system: string, server: RunningServer, target: IdleJob["target"]): Promise<number> => {
    context.log(`idle: ${sockets} sockets on ${system}`);
    const readings = new Map<string, number>();
    const result = await runLoadgen(
      { kind: "idle", target, sockets, users, settleMs },
      (name) => void readings.set(name, server.process.rssBytes()),
      (message) => context.log(`  ${message}`),
    );
    if (result.kind !== "idle") throw new Error(`unexpected ${result.kind} result`);
    if (result.dropped > 0) output.problems.push(`${scenario}, ${system}: ${result.dropped} sockets dropped while idle`);
    const before = readings.get(checkpoint.idleBefore) ?? Number.NaN;
    const held = readings.get(checkpoint.idleHeld) ?? Number.NaN;
    const perSocket = (held - before) / result.sockets;
    output.rows.push({
      scenario,
      case: system === "parley" ? `${Math.min(users, sockets)} users, 100 rooms` : "100 topics",
      system,
      metrics: { sockets: result.sockets, "RSS before MiB": before / 2 ** 20, "RSS held MiB": held / 2 ** 20, "KiB/socket": perSocket / 1024 },
    });
    return perSocket;
  };
  const barePerSocket = await (async () => {
    const server = await startBareBun();
    try {
      return await measure("bare-bun", server, { kind: "bare", url: server.url });
    } finally {
      await server.stop();
    }
  })();
  const parleyPerSocket = await withParley(context, "idle", 1, ([server]) =>
    measure("parley", server as RunningServer, { kind: "parley", urls: [(server as RunningServer).url] }),
  );
  const ratio = parleyPerSocket / barePerSocket;
  output.checks.push({
    scenario,
    case: "RSS per socket",
    target: `≤ ${RATIO_TARGET}× the bare Bun server's`,
    measured: `${formatNumber(parleyPerSocket / 1024)} KiB vs ${formatNumber(barePerSocket / 1024)} KiB = ${formatRatio(ratio)}`,
    met: ratio <= RATIO_TARGET,
  });
  return output;
}
