import { checkpoint, type LatencySummary, type StormResult } from "../lib/jobs.ts";
import { LatencyRecorder } from "../lib/stats.ts";
import { runLoadgen } from "../lib/loadgen-runner.ts";
import { emptyOutput, formatNumber, type ScenarioOutput } from "../lib/results.ts";
import { loggedErrors, type RunningServer, scrapeMetric } from "../lib/servers.ts";
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
        let lagMaxMs = Number.NaN;
        let probes: Record<"main" | "operator", ReadinessProbe> | null = null;
        /** The load generator's CPU and the wall clock over the storm: a saturated load generator times itself. */
        const loadgenAt = { stop: { cpu: 0, at: 0 }, recovered: { cpu: 0, at: 0 } };
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
          (name, loadgen) => {
            if (name === checkpoint.stormStop) loadgenAt.stop = { cpu: loadgen.cpuSeconds(), at: performance.now() };
            if (name === checkpoint.stormRecovered) loadgenAt.recovered = { cpu: loadgen.cpuSeconds(), at: performance.now() };
            if (name === checkpoint.stormStop) {
              const stoppedAt = performance.now();
              // Probed from here, not from the load generator: its own thousands of fetches would queue the probe.
              probes = { main: probeReadiness(original.url), operator: probeReadiness(original.operatorUrl) };
              original.process.signal(stop === "kill -9" ? "SIGKILL" : "SIGTERM");
              replacing = (async () => {
                await original.process.done;
                const server = await deployment.start({ port, operatorPort: Number(new URL(original.operatorUrl).port) });
                replacement = { server, cpuAtListen: server.process.cpuSeconds(), downMs: performance.now() - stoppedAt };
              })();
            } else if (name === checkpoint.stormRecovered) {
              probes?.main.stop();
              probes?.operator.stop();
              cpuAtRecovered = replacement?.server.process.cpuSeconds() ?? Number.NaN;
              const restarted = replacement as { server: RunningServer } | null;
              // The longest the event loop was held up since the restart: what a health check may have waited.
              if (restarted) return scrapeMetric(restarted.server, "nodejs_eventloop_lag_max_seconds").then((seconds) => void (lagMaxMs = seconds * 1000));
            }
          },
          (message) => context.log(`  ${message}`),
        );
        if (result.kind !== "storm") throw new Error(`unexpected ${result.kind} result`);
        await replacing;
        const restarted = replacement as { server: RunningServer; cpuAtListen: number; downMs: number } | null;
        if (!restarted) throw new Error("the storm never reached its stop");
        const { server, cpuAtListen, downMs } = restarted;
        const loadgenBusy = (loadgenAt.recovered.cpu - loadgenAt.stop.cpu) / ((loadgenAt.recovered.at - loadgenAt.stop.at) / 1000);
        const health = probes as Record<"main" | "operator", ReadinessProbe> | null;
        if (!health) throw new Error("readiness was never probed");
        await Promise.all([health.main.done, health.operator.done]);
        report(output, scenario, stop, result, { cpuSeconds: cpuAtRecovered - cpuAtListen, downMs, lagMaxMs }, loadgenBusy, {
          main: health.main.summary(),
          operator: health.operator.summary(),
        });
        for (const errors of [loggedErrors(server)]) {
          if (errors.length > 0) output.problems.push(`${scenario}, ${stop}: the new server logged ${errors.length} error(s): ${errors[0]?.slice(0, 300)}`);
        }
      },
      { redis: true, env: { DRAIN_MS: LONE_INSTANCE_DRAIN_MS } },
    );
  }
  return output;
}

function report(
  output: ScenarioOutput,
  scenario: string,
  stop: string,
  result: StormResult,
  server: { cpuSeconds: number; downMs: number; lagMaxMs: number },
  loadgenBusy: number,
  health: Record<"main" | "operator", ReadinessSummary>,
): void {
  const { recovery, attempts } = result;
  output.rows.push({
    scenario,
    case: stop,
    system: "parley",
    metrics: {
      "first back s": recovery.min / 1000,
      "back p50 s": recovery.p50 / 1000,
      "back p99 s": recovery.p99 / 1000,
      "last back s": recovery.max / 1000,
      "server down s": server.downMs / 1000,
      "reconnects/s/core": result.recovered / server.cpuSeconds,
      "refused": attempts.refused,
      "503s": attempts.unavailable,
      "presence frames": result.presenceFrames,
      "/readyz max ms (main)": health.main.latency.max,
      "/readyz max ms (operator)": health.operator.latency.max,
      "loop lag max ms": server.lagMaxMs,
      "server CPU %": (server.cpuSeconds / ((recovery.max - server.downMs) / 1000)) * 100,
      "loadgen CPU %": loadgenBusy * 100,
    },
    note: `${result.recovered}/${result.clients} back; ${result.resumes.recovered} rooms resumed, ${result.resumes.unrecovered} not; ${attempts.total} attempts`,
  });
  if (result.recovered < result.clients) output.problems.push(`${scenario}, ${stop}: ${result.clients - result.recovered} clients never came back`);
  output.checks.push({
    scenario,
    case: `/readyz on the operator port (METRICS_PORT) during the storm (${stop})`,
    target: `every answer within ${HEALTH_TARGET_MS} ms`,
    measured: `max ${formatNumber(health.operator.latency.max)} ms over ${health.operator.probes} probes, ${health.operator.unanswered} unanswered (main port: max ${formatNumber(health.main.latency.max)} ms, ${health.main.unanswered} unanswered)`,
    met: health.operator.unanswered === 0 && !(health.operator.latency.max > HEALTH_TARGET_MS),
  });
}

interface ReadinessSummary {
  probes: number;
  /** Probes not answered within PROBE_TIMEOUT_MS (a refused connection — nothing listening — is an answer). */
  unanswered: number;
  latency: LatencySummary;
}

interface ReadinessProbe {
  stop(): void;
  done: Promise<void>;
  summary(): ReadinessSummary;
}

const PROBE_EVERY_MS = 200;
const PROBE_TIMEOUT_MS = 2000;

/** GET /readyz every 200 ms until stopped, as a health checker with a 2 s timeout would. */
function probeReadiness(base: string): ReadinessProbe {
  const latency = new LatencyRecorder();
  let probes = 0;
  let unanswered = 0;
  let probing = true;
  const done = (async () => {
    while (probing) {
      probes += 1;
      const started = performance.now();
      try {
        const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        await response.arrayBuffer();
        latency.record(performance.now() - started);
      } catch (error) {
        if (error instanceof Error && error.name === "TimeoutError") unanswered += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
    }
  })();
  return {
    stop: () => void (probing = false),
    done,
    summary: () => ({ probes, unanswered, latency: latency.summary() }),
  };
}
