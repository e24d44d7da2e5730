import { checkpoint, type StormResult } from "../lib/jobs.ts";
import { runLoadgen } from "../lib/loadgen-runner.ts";
import { emptyOutput, formatNumber, type ScenarioOutput } from "../lib/results.ts";
import { loggedErrors, type RunningServer } from "../lib/servers.ts";
import { type ScenarioContext, withParley } from "./context.ts";

/** /readyz must answer within this, storm or not: a health checker's timeout is often 1–3 s. */
const HEALTH_TARGET_MS = 1000;

/** What a lone instance should run with (README): a short drain — there is no other instance to move to. */
const LONE_INSTANCE_DRAIN_MS = "1000";

/**
 * Reconnect storms on one instance (Postgres + Redis, every client resuming like the SDK): the server is killed
 * (kill -9) or terminated (SIGTERM, a deploy) and a new one started on the same port at once. Reports when the
 * clients were back (from the stop), how much server CPU each reconnect cost (reconnects per second per core), how
 * the attempts went (refused, 503), and how long /readyz took meanwhile.
 */
export async function stormScenario(context: ScenarioContext): Promise<ScenarioOutput> {
  const output = emptyOutput();
  const { storm } = context.options.profile;
  const scenario = `Reconnect storm, ${formatNumber(storm.clients)} clients on one instance`;
  for (const stop of ["kill -9", "SIGTERM"] as const) {
    await withParley(
      context,
      "storm",
      1,
      async ([first], deployment) => {
        const original = first as RunningServer;
        const port = Number(new URL(original.url).port);
        /** The new server, once it listens: started right after the stop, on the same port. */
        let replacing: Promise<void> | null = null;
        let replacement: { server: RunningServer; cpuAtListen: number; downMs: number } | null = null;
        let cpuAtRecovered = Number.NaN;
        context.log(`storm: ${storm.clients} clients, ${stop}`);
        const result = await runLoadgen(
          {
            kind: "storm",
            target: { kind: "parley", urls: [original.url] },
            clients: storm.clients,
            users: storm.users,
            rooms: storm.rooms,
            messagesPerSecond: storm.messagesPerSecond,
            backoff: { minDelayMs: 500, maxDelayMs: 30_000 },
            timeoutMs: storm.timeoutMs,
          },
          (name) => {
            if (name === checkpoint.stormStop) {
              const stoppedAt = performance.now();
              original.process.signal(stop === "kill -9" ? "SIGKILL" : "SIGTERM");
              replacing = (async () => {
                await original.process.done;
                const server = await deployment.start({ port });
                replacement = { server, cpuAtListen: server.process.cpuSeconds(), downMs: performance.now() - stoppedAt };
              })();
            } else if (name === checkpoint.stormRecovered) {
              cpuAtRecovered = replacement?.server.process.cpuSeconds() ?? Number.NaN;
            }
          },
          (message) => context.log(`  ${message}`),
        );
        if (result.kind !== "storm") throw new Error(`unexpected ${result.kind} result`);
        await replacing;
        const restarted = replacement as { server: RunningServer; cpuAtListen: number; downMs: number } | null;
        if (!restarted) throw new Error("the storm never reached its stop");
        const { server, cpuAtListen, downMs } = restarted;
        report(output, scenario, stop, result, { cpuSeconds: cpuAtRecovered - cpuAtListen, downMs });
        for (const errors of [loggedErrors(server)]) {
          if (errors.length > 0) output.problems.push(`${scenario}, ${stop}: the new server logged ${errors.length} error(s): ${errors[0]?.slice(0, 300)}`);
        }
      },
      { redis: true, env: { DRAIN_MS: LONE_INSTANCE_DRAIN_MS } },
    );
  }
  return output;
}

function report(output: ScenarioOutput, scenario: string, stop: string, result: StormResult, server: { cpuSeconds: number; downMs: number }): void {
  const { recovery, attempts, health } = result;
  output.rows.push({
    scenario,
    case: stop,
    system: "parley",
    metrics: {
      "back p50 s": recovery.p50 / 1000,
      "back p99 s": recovery.p99 / 1000,
      "last back s": recovery.max / 1000,
      "server down s": server.downMs / 1000,
      "reconnects/s/core": result.recovered / server.cpuSeconds,
      "refused": attempts.refused,
      "503s": attempts.unavailable,
      "presence frames": result.presenceFrames,
      "/readyz max ms": health.latency.max,
    },
    note: `${result.recovered}/${result.clients} back; ${result.resumes.recovered} rooms resumed, ${result.resumes.unrecovered} not; ${attempts.total} attempts`,
  });
  if (result.recovered < result.clients) output.problems.push(`${scenario}, ${stop}: ${result.clients - result.recovered} clients never came back`);
  output.checks.push({
    scenario,
    case: `/readyz during the storm (${stop})`,
    target: `every answer within ${HEALTH_TARGET_MS} ms`,
    measured: `max ${formatNumber(health.latency.max)} ms over ${health.probes} probes, ${health.unanswered} unanswered`,
    met: health.unanswered === 0 && !(health.latency.max > HEALTH_TARGET_MS),
  });
}
