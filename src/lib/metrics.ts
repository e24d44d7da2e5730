import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * Prometheus metrics of one instance. Everything lives in a registry made here (never prom-client's global one),
 * so every app built in one process — tests build many — counts on its own. Push-style series are fields; values
 * another object already knows (open sockets, followed rooms, health) are read at scrape time through `observe`.
 * prom-client runs on Bun, Deno and Node alike (checked: counters, histograms, default process metrics).
 */
export interface Metrics {
  readonly registry: Registry;
  /** tRPC calls, also each call inside a batch: outcome is "ok" or the tRPC error code. */
  readonly calls: Counter<"procedure" | "outcome">;
  readonly callSeconds: Histogram<"procedure">;
  /** Every HTTP request, by route family (trpc, ws, health, metrics, other) and status class (2xx, 4xx, …). */
  readonly httpRequests: Counter<"route" | "status">;
  readonly messagesCommitted: Counter;
  /** Sends per group-commit transaction. */
  readonly commitBatchSize: Histogram;
  readonly commitSeconds: Histogram<"path">;
  /** From a send reaching the service to its answer (the ack): queueing + commit. */
  readonly sendAckSeconds: Histogram<"outcome">;
  /** Room events forwarded to local sockets, counted per receiving socket where the runtime tells. */
  readonly deliveries: Counter<"kind">;
  readonly resumes: Counter<"outcome">;
  readonly slowConsumerCloses: Counter<"cause">;
  readonly socketsRefused: Counter<"reason">;
  readonly rateLimitRefusals: Counter<"bucket">;
  /** Times the rate limiter switched to its per-instance fallback because its store was unreachable. */
  readonly rateLimitFallbacks: Counter;
  /** Outbox job attempts that failed on this instance (retried later, or dead), by job kind. */
  readonly jobAttemptsFailed: Counter<"kind">;
  /** A gauge read at scrape time (sockets, rooms, health …): `read` must be cheap and must not throw. */
  observe(name: string, help: string, read: () => number): void;
  /** The exposition text for a scrape. */
  render(): Promise<string>;
  readonly contentType: string;
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(options: { defaultLabels?: Record<string, string> } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  // Process CPU, memory, file descriptors, GC and event-loop lag (nodejs_eventloop_lag_*), under their usual names.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const registers = [registry];
  return {
    registry,
    calls: new Counter({ name: "parley_trpc_calls_total", help: "tRPC calls by procedure and outcome (ok or error code)", labelNames: ["procedure", "outcome"], registers }),
    callSeconds: new Histogram({ name: "parley_trpc_call_seconds", help: "tRPC call duration", labelNames: ["procedure"], buckets: SECONDS, registers }),
    httpRequests: new Counter({ name: "parley_http_requests_total", help: "HTTP requests by route family and status class", labelNames: ["route", "status"], registers }),
    messagesCommitted: new Counter({ name: "parley_messages_committed_total", help: "Messages committed (new, not idempotent replays)", registers }),
    commitBatchSize: new Histogram({ name: "parley_commit_batch_size", help: "Sends per group-commit batch", buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers }),
    commitSeconds: new Histogram({ name: "parley_commit_seconds", help: "Group-commit duration (batch, or one-by-one after a failed batch)", labelNames: ["path"], buckets: SECONDS, registers }),
    sendAckSeconds: new Histogram({ name: "parley_send_ack_seconds", help: "From a send reaching the service to its ack or refusal", labelNames: ["outcome"], buckets: SECONDS, registers }),
    deliveries: new Counter({ name: "parley_deliveries_total", help: "Events written to local sockets (fan-out counts each receiving socket)", labelNames: ["kind"], registers }),
    resumes: new Counter({ name: "parley_resumes_total", help: "Room resumes by outcome (recovered: every missed event replayed)", labelNames: ["outcome"], registers }),
    slowConsumerCloses: new Counter({ name: "parley_slow_consumer_closes_total", help: "Sockets closed with 4002 because they could not keep up", labelNames: ["cause"], registers }),
    socketsRefused: new Counter({ name: "parley_ws_upgrades_refused_total", help: "WebSocket upgrades refused, by reason", labelNames: ["reason"], registers }),
    rateLimitRefusals: new Counter({ name: "parley_rate_limit_refusals_total", help: "Calls refused by a rate limit, by bucket", labelNames: ["bucket"], registers }),
    rateLimitFallbacks: new Counter({ name: "parley_rate_limit_fallbacks_total", help: "Switches to the per-instance limiter while the shared store was unreachable", registers }),
    jobAttemptsFailed: new Counter({ name: "parley_job_attempts_failed_total", help: "Outbox job attempts that failed on this instance, by kind", labelNames: ["kind"], registers }),
    observe(name, help, read) {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
