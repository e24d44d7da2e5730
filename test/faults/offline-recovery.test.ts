import { afterAll, beforeAll, describe, inject, it } from "vitest";
import { settleAndCheck, sleep } from "../support/delivery-verifier.ts";
import { createRooms, type FaultCluster, startCluster, until } from "../support/fault-harness.ts";
import { createFleetClient, FLEET_PASSWORD, type FleetClient } from "../support/fleet.ts";
import { createPostgresTestDatabase } from "../support/databases.ts";

const postgresUrl = inject("postgresUrl");
const redisUrl = inject("redisUrl");

/**
 * The issue says five minutes, so one spec really is offline that long. Nothing in Parley keys resume on time
 * (positions are seqs; the window is RESUME_MAX_MESSAGES), so the wait proves no hidden timer (ticket, token,
 * socket, cache expiry) breaks recovery. It runs concurrently with the other specs here and costs no serial time.
 */
const OFFLINE_MS = 5 * 60_000;
const MISSED = 500;
/** Instance 1's resume budget: below MISSED, so resuming there must say `recovered: false`. */
const SMALL_BUDGET = 200;

/**
 * Issue scenario 5 (reliability table rows 1 and 2): a member is away while 500 messages arrive — some of them
 * from another device of their own. On reconnect it gets all of them (instance 0, default budget of 1000) or an
 * explicit `recovered: false` naming the range to page (instance 1, budget 200). Unread counts from `rooms.list`
 * agree with Postgres: the room's last seq − my read watermark − my own messages after it.
 */
describe.skipIf(!postgresUrl || !redisUrl)("a member offline while 500 messages arrive", () => {
  let database: { url: string; drop(): Promise<void> };
  let cluster: FaultCluster;
  const everyone: FleetClient[] = [];

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    cluster = await startCluster({
      instances: 2,
      databaseUrl: database.url,
      redisUrl: redisUrl as string,
      instanceEnv: (index): Record<string, string> => (index === 1 ? { RESUME_MAX_MESSAGES: String(SMALL_BUDGET) } : {}),
    });
  }, 120_000);

  afterAll(async () => {
    for (const client of everyone) client.close();
    await cluster?.close();
    await database?.drop();
  });

  /**
   * A room of three users. `away` is the member who goes offline; `otherDevice` is the same user signed in a second
   * time (it stays online and sends); `a` and `b` are the others. `away` has read everything up to `readSeq`.
   */
  async function awayScene(name: string, awayInstance: number): Promise<{ roomId: string; away: FleetClient; otherDevice: FleetClient; a: FleetClient; b: FleetClient; readSeq: number }> {
    const url = (index: number): string => cluster.instances[index]!.url;
    const away = await createFleetClient({ url: url(awayInstance), name: `${name}-away` });
    const a = await createFleetClient({ url: url(0), name: `${name}-a` });
    const b = await createFleetClient({ url: url(1), name: `${name}-b` });
    const otherDevice = await createFleetClient({ url: url(1 - awayInstance), name: `${name}-away2`, loginAs: { user: away.user, password: FLEET_PASSWORD } });
    everyone.push(away, a, b, otherDevice);
    const [roomId] = (await createRooms([a, b, away], { rooms: 1, roomsPerClient: 1 })) as [string];
    otherDevice.rooms.add(roomId); // the same user: already a member
    await Promise.all([away, a, b, otherDevice].map((client) => client.connect()));
    let last = 0;
    for (let n = 1; n <= 10; n++) last = (await a.send(roomId, `${name}:before:${n}`))?.seq ?? last;
    await until(() => away.heldThrough(roomId) >= last, () => `${away.name} holds through ${away.heldThrough(roomId)}`, 15_000);
    const marked = await away.client.api.messages.markRead.mutate({ roomId, seq: last });
    return { roomId, away, otherDevice, a, b, readSeq: marked.readSeq };
  }

  /** The 500: 45 % from each other member, 10 % from the away user's own other device, at `everyMs` apart. */
  async function sendMissed(scene: { roomId: string; a: FleetClient; b: FleetClient; otherDevice: FleetClient }, tag: string, everyMs: number): Promise<void> {
    const sends: Promise<unknown>[] = [];
    for (let n = 1; n <= MISSED; n++) {
      const sender = n % 10 === 0 ? scene.otherDevice : n % 2 === 0 ? scene.a : scene.b;
      sends.push(sender.send(scene.roomId, `${tag}:missed:${n}`));
      if (everyMs > 0) await sleep(everyMs);
    }
    await Promise.all(sends);
  }

  /**
   * `rooms.list` for every member against Postgres: unread = main-timeline messages after my read watermark sent by
   * others, counted here the slow way (the service reads counters instead: they must agree).
   */
  async function unreadProblems(roomId: string, members: FleetClient[]): Promise<string[]> {
    const problems: string[] = [];
    for (const member of members) {
      const listed = (await member.client.api.rooms.list.query()).find((room) => room.id === roomId);
      if (!listed) {
        problems.push(`${member.name}: room missing from rooms.list`);
        continue;
      }
      const [row] = await cluster.sql<{ readSeq: number; lastSeq: number; mainCount: number; mainMessages: number; unread: number; ownAfterRead: number }[]>`
        select m.last_read_seq::int as "readSeq", r.last_seq::int as "lastSeq", r.main_count::int as "mainCount",
          (select count(*)::int from messages x where x.room_id = r.id and x.main_ordinal is not null) as "mainMessages",
          (select count(*)::int from messages x where x.room_id = r.id and x.main_ordinal is not null and x.seq > m.last_read_seq and x.sender_id <> m.user_id) as unread,
          (select count(*)::int from messages x where x.room_id = r.id and x.main_ordinal is not null and x.seq > m.last_read_seq and x.sender_id = m.user_id) as "ownAfterRead"
        from room_members m join rooms r on r.id = m.room_id where m.room_id = ${roomId} and m.user_id = ${member.user.id}`;
      if (!row) throw new Error(`${member.name} is not a member`);
      if (row.mainCount !== row.mainMessages) problems.push(`${member.name}: rooms.main_count ${row.mainCount} but the room has ${row.mainMessages} main-timeline messages`);
      if (listed.readSeq !== row.readSeq || listed.unread !== row.unread) {
        problems.push(`${member.name}: rooms.list says readSeq ${listed.readSeq}, unread ${listed.unread}; Postgres: readSeq ${row.readSeq}, unread ${row.unread} (last seq ${row.lastSeq}, own after read ${row.ownAfterRead})`);
      }
    }
    return problems;
  }

  it.concurrent(
    "recovers all 500 messages after five minutes with its network down, and counts unread without its own device's messages",
    async ({ expect }) => {
      const scene = await awayScene("five", 0);
      const { roomId, away } = scene;
      const wentAt = Date.now();
      away.network.cut();
      // The 500 arrive spread over the outage, not in one burst at its start.
      await sendMissed(scene, "five", Math.floor((OFFLINE_MS - 30_000) / MISSED));
      await sleep(Math.max(0, wentAt + OFFLINE_MS - Date.now()));
      expect(away.state).not.toBe("open");
      away.network.restore();
      const cameBackAt = Date.now();
      await until(() => away.state === "open", () => `${away.name} is ${away.state} (${away.stateReason}): ${JSON.stringify(away.sdkErrors.slice(-3))}`, 30_000);
      const reconnectMs = Date.now() - cameBackAt;
      await until(() => away.heldThrough(roomId) >= scene.readSeq + MISSED, () => `${away.name} holds through ${away.heldThrough(roomId)}`, 30_000);
      const recoveredMs = Date.now() - cameBackAt;

      const record = away.record(roomId);
      const report = await settleAndCheck(cluster.sql, [scene.away, scene.a, scene.b, scene.otherDevice], { timeoutMs: 30_000 });
      console.log(`[faults] offline ${Math.round((cameBackAt - wentAt) / 1000)} s: ${JSON.stringify({ missed: MISSED, reconnectMs, recoveredMs, recoveredTrue: record.recovered, unrecovered: record.unrecovered.length })}`);
      expect(report.problems).toEqual([]);
      expect(cameBackAt - wentAt).toBeGreaterThanOrEqual(OFFLINE_MS);
      // All 500 came back in the resume replay: recovered, nothing left to page.
      expect(record.recovered).toBeGreaterThanOrEqual(1);
      expect(record.unrecovered).toEqual([]);
      expect(await unreadProblems(roomId, [scene.away, scene.a, scene.b])).toEqual([]);
      const listed = (await away.client.api.rooms.list.query()).find((room) => room.id === roomId);
      expect(listed).toMatchObject({ readSeq: scene.readSeq, unread: MISSED - MISSED / 10 });
    },
    OFFLINE_MS + 180_000,
  );

  it.concurrent(
    "replays 500 missed messages within the resume budget while the room keeps talking",
    async ({ expect }) => {
      const scene = await awayScene("burst", 0);
      const { roomId, away } = scene;
      away.client.realtime.disconnect();
      await sendMissed(scene, "burst", 0);
      // It comes back while more arrive: the replay and the live stream must meet without a gap or a repeat.
      const more = Array.from({ length: 40 }, (_, n) => sleep(n * 25).then(() => scene.a.send(roomId, `burst:live:${n + 1}`)));
      await away.connect();
      await Promise.all(more);
      const report = await settleAndCheck(cluster.sql, [scene.away, scene.a, scene.b, scene.otherDevice], { timeoutMs: 30_000 });
      expect(report.problems).toEqual([]);
      expect(away.record(roomId).recovered).toBeGreaterThanOrEqual(1);
      expect(away.record(roomId).unrecovered).toEqual([]);
      expect(await unreadProblems(roomId, [scene.away, scene.a, scene.b])).toEqual([]);
      const listed = (await away.client.api.rooms.list.query()).find((room) => room.id === roomId);
      expect(listed).toMatchObject({ readSeq: scene.readSeq, unread: MISSED - MISSED / 10 + 40 });
    },
    180_000,
  );

  it.concurrent(
    "past the resume budget, says recovered:false with the exact range, and paging that range completes the history",
    async ({ expect }) => {
      const scene = await awayScene("budget", 1);
      const { roomId, away } = scene;
      const heldBefore = away.heldThrough(roomId);
      away.client.realtime.disconnect();
      await sendMissed(scene, "budget", 0);
      await away.connect();
      await scene.a.send(roomId, "budget:after");
      const report = await settleAndCheck(cluster.sql, [scene.away, scene.a, scene.b, scene.otherDevice], { timeoutMs: 30_000 });
      expect(report.problems).toEqual([]);
      // One explicit signal naming exactly what was missed; the page filled it; the live stream went on after it.
      expect(away.record(roomId).unrecovered.map(({ fromSeq, toSeq }) => ({ fromSeq, toSeq }))).toEqual([{ fromSeq: heldBefore + 1, toSeq: heldBefore + MISSED }]);
      expect(away.record(roomId).paged).toHaveLength(MISSED);
      expect(away.record(roomId).live.at(-1)?.body).toBe("budget:after");
      expect(await unreadProblems(roomId, [scene.away, scene.a, scene.b])).toEqual([]);
    },
    180_000,
  );
});
