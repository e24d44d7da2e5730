import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { settleAndCheck } from "../support/delivery-verifier.ts";
import { connectAll, createRooms, type FaultCluster, startCluster, until } from "../support/fault-harness.ts";
import { createFleetClient, type FleetClient } from "../support/fleet.ts";
import { createPostgresTestDatabase } from "../support/databases.ts";

const postgresUrl = inject("postgresUrl");
const redisUrl = inject("redisUrl");

/**
 * Issue scenario 4 (reliability table row 9): senders on three instances write to one room at the same moment,
 * over sockets and over HTTP. Seqs are handed out by Postgres under the room's row lock; every instance must
 * forward them in that order, so every subscriber — wherever it is attached — sees the same gapless sequence.
 */
describe.skipIf(!postgresUrl || !redisUrl)("concurrent senders on three instances to one room", () => {
  let database: { url: string; drop(): Promise<void> };
  let cluster: FaultCluster;
  const clients: FleetClient[] = [];

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    cluster = await startCluster({ instances: 3, databaseUrl: database.url, redisUrl: redisUrl as string });
    // Placed by hand, four per instance, so every instance both sends and fans out.
    for (let index = 0; index < 12; index++) {
      const instance = cluster.instances[index % 3]!;
      clients.push(await createFleetClient({ url: instance.url, name: `burst${index + 1}` }));
    }
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await cluster?.close();
    await database?.drop();
  });

  it("gives every subscriber on every instance the same gapless seq order as Postgres, for bursts over sockets and HTTP at once", async () => {
    const [roomId] = (await createRooms(clients, { rooms: 1, roomsPerClient: 1 })) as [string];
    await connectAll(clients);
    // Two members arrive mid-burst: one joins the room on an open socket, one opens its socket. Each must get
    // exactly what follows the position it attached at.
    const joiner = await createFleetClient({ url: cluster.instances[1]!.url, name: "joiner" });
    const connector = await createFleetClient({ url: cluster.instances[2]!.url, name: "connector" });
    await connector.join(roomId);
    await joiner.connect();

    // Every client fires its whole burst at once without waiting for acks: 12 × 25 sends in flight together,
    // a third of them as HTTP mutations, the rest through the SDK's socket outbox.
    const perClient = 25;
    const started = Date.now();
    const sends = clients.flatMap((client, index) =>
      Array.from({ length: perClient }, (_, n) => {
        const body = `burst:${client.name}:${n + 1}`;
        return index % 3 === 2 ? client.post(roomId, body) : client.send(roomId, body);
      }),
    );
    const acked = (): number => clients.reduce((sum, client) => sum + client.acks.length, 0);
    await until(() => acked() >= sends.length / 3, () => `${acked()} acks`, 30_000);
    await Promise.all([joiner.join(roomId), connector.connect()]);
    await Promise.all(sends);
    const ackedAfterMs = Date.now() - started;

    const everyone = [...clients, joiner, connector];
    const report = await settleAndCheck(cluster.sql, everyone, { timeoutMs: 30_000 });
    // The burst's messages, in the order each subscriber got them (their streams start at different joins).
    const orders = new Set(clients.map((client) => client.record(roomId).live.flatMap((event) => (event.type === "message.created" ? [event.messageId] : [])).join(",")));
    console.log(
      `[faults] concurrent senders: ${JSON.stringify({ sends: sends.length, ackedAfterMs, stored: report.stored[roomId], deliveredLive: report.deliveredLive, settledAfterMs: report.settledAfterMs, distinctOrders: orders.size, joinerAttachedAt: joiner.record(roomId).baseline, connectorAttachedAt: connector.record(roomId).baseline })}`,
    );

    expect(report.problems).toEqual([]);
    // The log: every member's join but the creator's (11 + the connector + the joiner), and every send once.
    const joins = clients.length - 1 + 2;
    expect(report.stored[roomId]).toBe(joins + sends.length);
    expect(orders.size).toBe(1);
    for (const late of [joiner, connector]) {
      expect(late.record(roomId).baseline, `${late.name} attached at`).toBeGreaterThan(0);
      expect(late.heldThrough(roomId)).toBe(joins + sends.length);
    }
    joiner.close();
    connector.close();
  }, 120_000);
});
