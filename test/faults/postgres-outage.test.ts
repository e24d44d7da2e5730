import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { readStoredMessages, settleAndCheck } from "../support/delivery-verifier.ts";
import { connectAll, createRooms, type FaultCluster, startCluster, until } from "../support/fault-harness.ts";
import { createFleet, type FleetClient, startTraffic } from "../support/fleet.ts";
import { startThrowawayPostgres, type ThrowawayPostgres } from "../support/throwaway-postgres.ts";

const postgresUrl = inject("postgresUrl");
const redisUrl = inject("redisUrl");

/** How long Postgres stays down (and at least until a send has failed). */
const OUTAGE_MS = 4000;
/** Crashes in a row in the survival spec. */
const CRASH_CYCLES = 3;
/** An ack for a commit made just before the crash may still be on its way this long after it. */
const ACK_IN_FLIGHT_MS = 1000;

/**
 * Issue scenario 3 (reliability table rows 7 and 8): the cluster's Postgres — a private one, on its own port —
 * crashes (`pg_ctl stop -m immediate`) under traffic and comes back a few seconds later. While it is down nothing
 * can commit, so nothing may be acknowledged; the SDK keeps re-sending its unacknowledged messages with the same
 * clientMsgId, and once Postgres is back each of them must exist exactly once.
 */
describe.skipIf(!postgresUrl || !redisUrl)("Postgres crashed and restarted under traffic", () => {
  let pg: ThrowawayPostgres;
  const clusters: FaultCluster[] = [];
  const everyone: FleetClient[] = [];

  beforeAll(async () => {
    pg = await startThrowawayPostgres();
  }, 120_000);

  afterAll(async () => {
    for (const client of everyone) client.close();
    await Promise.all(clusters.map((cluster) => cluster.close()));
    await pg?.destroy();
  });

  /** Each spec gets its own instances: one spec's crashes must not leave the other with fewer. */
  async function startInstances(): Promise<FaultCluster> {
    const started = await startCluster({ instances: 2, databaseUrl: pg.url, redisUrl: redisUrl as string });
    clusters.push(started);
    return started;
  }

  it("acknowledges nothing while Postgres is down, and every send retried with its clientMsgId commits exactly once", async () => {
    const cluster = await startInstances();
    const clients = await createFleet(8, { url: cluster.url, name: "pg" });
    everyone.push(...clients);
    await createRooms(clients, { rooms: 2, roomsPerClient: 2 });
    await connectAll(clients);

    const acks = (): FleetClient["acks"] => clients.flatMap((client) => client.acks);
    const traffic = startTraffic(clients, { intervalMs: 250, tag: "pg" });
    let stoppedAt = 0;
    let restartedAt = 0;
    // When pg_ctl was asked to start it: Postgres accepts connections before pg_ctl's wait returns, so acks from
    // then on are legitimate even though they precede restartedAt.
    let startingAt = 0;
    try {
      await until(() => acks().length >= 40, () => `only ${acks().length} acks before the crash`, 30_000);
      stoppedAt = Date.now();
      await pg.stop();
      const failedSends = (): number => clients.reduce((sum, client) => sum + client.sendErrors.filter((error) => error.at >= stoppedAt).length, 0);
      await until(() => failedSends() > 0, () => "no send failed while Postgres was down", 15_000);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + OUTAGE_MS - Date.now())));
      startingAt = Date.now();
      await pg.start();
      restartedAt = Date.now();
      await until(() => acks().filter((ack) => ack.ackedAt > restartedAt).length >= 40, () => "sends did not resume after the restart", 60_000);
    } finally {
      traffic.stop();
    }

    const report = await settleAndCheck(cluster.sql, clients, { timeoutMs: 45_000 });
    const stored = await readStoredMessages(cluster.sql, [...new Set(clients.flatMap((client) => [...client.rooms]))]);
    const rowsByBody = new Map<string, { clientMsgId: string; seq: number }[]>();
    for (const rows of stored.values()) {
      for (const row of rows) rowsByBody.set(row.body, [...(rowsByBody.get(row.body) ?? []), row]);
    }

    // What went over the wire: every transmission of every send, by body (bodies are unique per send).
    const problems: string[] = [];
    let retried = 0;
    let transmissions = 0;
    for (const client of clients) {
      const frames = new Map<string, string[]>();
      for (const { frame } of client.network.sent) {
        if (frame.type !== "send") continue;
        transmissions += 1;
        const body = String(frame.body);
        frames.set(body, [...(frames.get(body) ?? []), String(frame.clientMsgId)]);
      }
      for (const [body, ids] of frames) {
        const distinct = new Set(ids);
        if (ids.length > 1) retried += 1;
        if (distinct.size !== 1) problems.push(`${client.name} sent "${body}" under ${distinct.size} clientMsgIds: ${[...distinct].join(", ")}`);
        const rows = rowsByBody.get(body) ?? [];
        if (rows.length !== 1) problems.push(`${client.name}'s "${body}" (sent ${ids.length}×) has ${rows.length} rows`);
        else if (!distinct.has(rows[0]!.clientMsgId)) problems.push(`${client.name}'s "${body}" committed under ${rows[0]!.clientMsgId}, never sent`);
      }
    }
    const acksWhileDown = acks().filter((ack) => ack.ackedAt >= stoppedAt + ACK_IN_FLIGHT_MS && ack.ackedAt < startingAt);
    const figures = {
      downMs: restartedAt - stoppedAt,
      sendErrors: clients.reduce((sum, client) => sum + client.sendErrors.filter((error) => error.at >= stoppedAt).length, 0),
      errorCodes: [...new Set(clients.flatMap((client) => client.sendErrors.map((error) => error.code)))],
      acksWhileDown: acksWhileDown.length,
      firstAckAfterRestartMs: Math.min(...acks().filter((ack) => ack.ackedAt >= restartedAt).map((ack) => ack.ackedAt)) - restartedAt,
      transmissions,
      sendsRetried: retried,
      acked: report.acked,
      stored: report.stored,
      settledAfterMs: report.settledAfterMs,
      instancesDied: cluster.instances.filter((instance) => instance.exited).length,
    };
    console.log(`[faults] postgres outage: ${JSON.stringify(figures)}`);

    expect(report.problems).toEqual([]);
    expect(problems).toEqual([]);
    expect(acksWhileDown.map((ack) => `${ack.body} acked ${ack.ackedAt - stoppedAt} ms into the outage as seq ${ack.message.seq}`)).toEqual([]);
    // The outage really made the SDK retry: some sends went out more than once, still one row each.
    expect(retried).toBeGreaterThan(0);
    // Refusals during the outage are typed and retryable, never an internal error.
    expect(figures.errorCodes.filter((code) => code !== "UNAVAILABLE")).toEqual([]);
  }, 180_000);

  it("keeps every instance alive through repeated Postgres crashes under writes", async () => {
    const cluster = await startInstances();
    const writers = await createFleet(6, { url: cluster.url, name: "crash" });
    everyone.push(...writers);
    await createRooms(writers, { rooms: 2, roomsPerClient: 1 });
    await connectAll(writers);
    const acks = (): FleetClient["acks"] => writers.flatMap((client) => client.acks);
    const traffic = startTraffic(writers, { intervalMs: 40, maxInFlight: 6, tag: "crash" });
    let cycles = 0;
    try {
      for (; cycles < CRASH_CYCLES && cluster.instances.every((instance) => !instance.exited); cycles++) {
        const since = Date.now();
        await until(() => acks().filter((ack) => ack.ackedAt > since).length >= 30, () => `writes did not flow in cycle ${cycles + 1}`, 30_000);
        const stoppedAt = Date.now();
        await pg.stop();
        await until(() => writers.some((client) => client.sendErrors.some((error) => error.at >= stoppedAt)), () => `no send failed in cycle ${cycles + 1}`, 15_000);
        await pg.start();
      }
    } finally {
      traffic.stop();
    }
    // Postgres going away is an outage to ride out, not a reason for an instance to die.
    const dead = cluster.instances.filter((instance) => instance.exited);
    console.log(`[faults] postgres crashes: ${JSON.stringify({ cycles, acked: acks().length, instancesDied: dead.length })}`);
    const crashOutput = (output: string): string => output.split("\n").filter((line) => !line.startsWith("{")).join("\n").slice(-1500);
    expect(dead.map((instance) => `instance on ${instance.port} died in crash cycle ${cycles}:\n${crashOutput(instance.output())}`)).toEqual([]);
    const report = await settleAndCheck(cluster.sql, writers, { timeoutMs: 45_000 });
    expect(report.problems).toEqual([]);
  }, 180_000);
});
