import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message, Room, ServerEvent } from "../../src/contract.ts";
import { uniqueUsername } from "../support/factories.ts";
import { bearer, createHttpProbe, type HttpProbe, resultOf, type SignedUp, signUp } from "../support/http-probe.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";
import { freePort } from "../support/throwaway-redis.ts";
import { openTestSocket, type TestSocket } from "../support/socket-client.ts";

const METRICS_TOKEN = "metrics-token-for-the-e2e-suite";

/** One sample's value from Prometheus text, matched by its name and (a subset of) its labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((pair) => [pair[1], pair[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return null;
}

/**
 * What an operator sees after a short chat: `curl -H "authorization: Bearer $METRICS_TOKEN" …/metrics` on a real
 * Bun server, and what an outsider does not.
 */
describe("metrics (Bun)", () => {
  let server: ServerProcess;
  let probe: HttpProbe;
  let alice: SignedUp;
  let socket: TestSocket;
  let room: Room;

  beforeAll(async () => {
    server = await startServer("bun", { METRICS_TOKEN });
    probe = createHttpProbe(server.url);
    alice = await signUp(probe, uniqueUsername("metrics"));
    room = resultOf<Room>(await probe.mutate("rooms.create", { name: "measured", kind: "public" }, { headers: bearer(alice.accessToken) }));
    const { ticket } = resultOf<{ ticket: string }>(await probe.mutate("auth.wsTicket", {}, { headers: bearer(alice.accessToken) }));
    socket = await openTestSocket(`${server.url.replace("http", "ws")}/ws?ticket=${ticket}`);
    await socket.waitFor((event) => event.type === "ready");
    for (let i = 0; i < 3; i++) {
      socket.send({ type: "send", roomId: room.id, clientMsgId: `metrics-${i}-${crypto.randomUUID()}`, body: `hello ${i}` });
    }
    await socket.waitFor((event: ServerEvent) => event.type === "message.created" && (event as { message: Message }).message.seq === 3);
    // A refusal, so a non-ok outcome is counted too.
    await probe.mutate("rooms.create", { name: "", kind: "public" }, { headers: bearer(alice.accessToken) });
  });

  afterAll(async () => {
    socket?.close();
    await server?.stop();
  });

  it("shows the series the README lists to the bearer of METRICS_TOKEN", async () => {
    const answer = await probe.request("/metrics", { headers: bearer(METRICS_TOKEN) });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = answer.text;
    expect(sample(text, "parley_trpc_calls_total", { procedure: "rooms.create", outcome: "ok" })).toBe(1);
    expect(sample(text, "parley_trpc_calls_total", { procedure: "rooms.create", outcome: "BAD_REQUEST" })).toBe(1);
    expect(sample(text, "parley_trpc_call_seconds_count", { procedure: "auth.wsTicket" })).toBe(1);
    expect(sample(text, "parley_http_requests_total", { route: "trpc", status: "2xx" })).toBeGreaterThanOrEqual(3);
    expect(sample(text, "parley_ws_connections")).toBe(1);
    expect(sample(text, "parley_rooms_followed")).toBe(1);
    expect(sample(text, "parley_bus_channels")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "parley_messages_committed_total")).toBe(3);
    expect(sample(text, "parley_commit_batch_size_count")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "parley_commit_seconds_count", { path: "batch" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "parley_send_ack_seconds_count", { outcome: "ok" })).toBe(3);
    expect(sample(text, "parley_deliveries_total", { kind: "room" })).toBeGreaterThanOrEqual(3);
    expect(sample(text, "parley_bus_up")).toBe(1);
    expect(sample(text, "parley_database_up")).toBe(1);
    expect(sample(text, "parley_presence_store_up")).toBe(1);
    expect(sample(text, "nodejs_eventloop_lag_p99_seconds")).not.toBeNull();
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
    for (const name of ["parley_resumes_total", "parley_slow_consumer_closes_total", "parley_rate_limit_refusals_total", "parley_rate_limit_fallbacks_total"]) {
      expect(text, name).toContain(`# TYPE ${name} counter`);
    }
  });

  it("refuses /metrics without the token, and /readyz shows counts only with it", async () => {
    expect((await probe.request("/metrics")).status).toBe(401);
    expect((await probe.request("/metrics", { headers: bearer("not-the-metrics-token-at-all") })).status).toBe(401);
    const open = await probe.request("/readyz");
    expect(open.status).toBe(200);
    expect(open.json).toEqual({ status: "ready", draining: false, database: "up", bus: "up" });
    const detailed = await probe.request("/readyz", { headers: bearer(METRICS_TOKEN) });
    expect(detailed.json).toMatchObject({ status: "ready", connections: 1, rooms: 1 });
  });
});

describe.each(["bun", "deno", "node"] as const)("metrics on METRICS_PORT (%s)", (runtime) => {
  it("serves /metrics there without a token, and /livez and /readyz — nothing else", async () => {
    const metricsPort = await freePort();
    const server = await startServer(runtime, { METRICS_PORT: String(metricsPort) });
    try {
      await fetch(`${server.url}/livez`);
      const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(scrape.status).toBe(200);
      const text = await scrape.text();
      expect(text).toContain("# TYPE parley_trpc_calls_total counter");
      expect(sample(text, "parley_database_up")).toBe(1);
      expect(sample(text, "parley_jobs_queued")).toBe(0); // the outbox worker runs on every runtime
      expect(sample(text, "parley_jobs_oldest_due_seconds")).toBe(0);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/ops/jobs/stats`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/livez`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/trpc/auth.me`)).status).toBe(404);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404); // no token: not on the main port
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe("metrics without METRICS_TOKEN", () => {
  it("are not served on the main port at all", async () => {
    const server = await startServer("bun");
    try {
      const answer = await createHttpProbe(server.url).request("/metrics");
      expect(answer.status).toBe(404);
    } finally {
      await server.stop();
    }
  });
});
