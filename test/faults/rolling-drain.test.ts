import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { percentile, settleAndCheck } from "../support/delivery-verifier.ts";
import { connectAll, createRooms, type FaultCluster, startCluster, until } from "../support/fault-harness.ts";
import { createFleet, type FleetClient, startTraffic } from "../support/fleet.ts";
import { createPostgresTestDatabase } from "../support/databases.ts";

const postgresUrl = inject("postgresUrl");
const redisUrl = inject("redisUrl");
const DRAIN_MS = 2000;

/**
 * A rolling deploy: one of two instances gets SIGTERM under traffic. It stops accepting, closes its sockets with
 * 1012 in batches over DRAIN_MS, and exits; its clients reconnect through the balancer to the other instance and
 * resume. Nothing acknowledged may be lost or duplicated, and no client may see anything but a reconnect.
 */
describe.skipIf(!postgresUrl || !redisUrl)("graceful drain of one of two instances under traffic", () => {
  let database: { url: string; drop(): Promise<void> };
  let cluster: FaultCluster;
  const clients: FleetClient[] = [];

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    cluster = await startCluster({
      instances: 2,
      databaseUrl: database.url,
      redisUrl: redisUrl as string,
      env: { DRAIN_MS: String(DRAIN_MS) },
    });
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await cluster?.close();
    await database?.drop();
  });

  it("moves the draining instance's clients to the other one in batches, losing and duplicating nothing", async () => {
    clients.push(...(await createFleet(20, { url: cluster.url, name: "drain" })));
    await createRooms(clients, { rooms: 4, roomsPerClient: 2 });
    await connectAll(clients);
    const [draining] = cluster.instances as [(typeof cluster.instances)[number]];
    const onDraining = cluster.balancer.websockets().get(draining.port) ?? 0;
    expect(onDraining).toBeGreaterThanOrEqual(8);

    const acks = (): number => clients.reduce((sum, client) => sum + client.acks.length, 0);
    const traffic = startTraffic(clients, { intervalMs: 300, tag: "drain" });
    await until(() => acks() >= 60, () => `only ${acks()} acks before the drain`, 30_000);

    const signalledAt = Date.now();
    const exitCode = await draining.stop("SIGTERM");
    const moved = (): FleetClient[] => clients.filter((client) => client.outages.some((outage) => outage.downAt >= signalledAt));
    await until(() => moved().length >= onDraining, () => `${moved().length} of ${onDraining} clients were moved`, 15_000);
    await until(() => moved().every((client) => client.state === "open"), () => "moved clients reopened", 30_000);
    const acksAfter = acks();
    await until(() => acks() >= acksAfter + 60, () => `only ${acks() - acksAfter} acks after the drain`, 30_000);
    traffic.stop();

    const report = await settleAndCheck(cluster.sql, clients, { timeoutMs: 45_000 });
    const outages = moved().flatMap((client) => client.outages.filter((outage) => outage.downAt >= signalledAt));
    const downAt = outages.map((outage) => outage.downAt - signalledAt);
    const reconnects = outages.flatMap((outage) => (outage.upAt === null ? [] : [outage.upAt - outage.downAt]));
    const figures = {
      exitCode,
      socketsOnDrainingInstance: onDraining,
      closedSpreadMs: Math.max(...downAt) - Math.min(...downAt),
      reconnectMs: { p50: percentile(reconnects, 50), p99: percentile(reconnects, 99) },
      acked: report.acked,
      settledAfterMs: report.settledAfterMs,
      sendsRejected: clients.reduce((sum, client) => sum + client.rejected.length, 0),
    };
    console.log(`[faults] rolling drain: ${JSON.stringify(figures)}`);

    expect(report.problems).toEqual([]);
    expect(exitCode).toBe(0);
    expect(figures.sendsRejected).toBe(0); // a drain is invisible to senders: unacked sends are retried after the move
    expect(figures.closedSpreadMs).toBeGreaterThan(DRAIN_MS / 4); // batches, not one herd
    expect(figures.reconnectMs.p99).toBeLessThan(5000);
  }, 180_000);
});
