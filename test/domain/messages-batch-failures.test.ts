import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMessageService, type SendOutcome } from "../../src/domain/messages/messages.service.ts";
import { createRoomLog } from "../../src/domain/room-log/room-log.ts";
import { createRoomService } from "../../src/domain/rooms/rooms.service.ts";
import type { Database } from "../../src/infra/db/database.ts";
import { createPgliteDatabase } from "../../src/infra/db/pglite.ts";
import { createPostgresDatabase } from "../../src/infra/db/postgres.ts";
import { createMemoryBus } from "../../src/infra/bus/memory.ts";
import { createMemoryRateLimiter } from "../../src/infra/rate-limit/memory.ts";
import { createMemoryRecentEvents } from "../../src/infra/recent-events/memory.ts";
import { messages as messageRows, roomEvents } from "../../src/infra/db/schema.ts";
import { systemClock } from "../../src/lib/clock.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { createBusEventPublisher } from "../../src/realtime/event-publisher.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser } from "../support/factories.ts";
import { createTestDeps, TEST_LIMITS, TEST_RATE_LIMITS, type TestDeps } from "../support/test-deps.ts";
import { batchingMessages, clientMsgId, lastSeqOf, oneTo, postgresUrlOf, roomWith, seqsAfter } from "./message-batches.ts";
import { inviteAndAccept, token } from "./room-fixtures.ts";

const roomRates = {
  create: TEST_RATE_LIMITS.roomCreatePerUser,
  invite: TEST_RATE_LIMITS.invitePerUser,
  openDirect: TEST_RATE_LIMITS.openDirectPerUser,
  joinByLink: TEST_RATE_LIMITS.joinByLinkPerUser,
  roleChanges: TEST_RATE_LIMITS.roleChangesPerUser,
  moderation: TEST_RATE_LIMITS.moderationPerUser,
};

const CONFLICT = { code: "CONFLICT", message: "clientMsgId was already used for a different message" };

/** The seqs of the room's stored messages, ascending. */
async function storedSeqs(database: Database, roomId: string): Promise<number[]> {
  const rows = await database.db.select({ seq: messageRows.seq }).from(messageRows).where(eq(messageRows.roomId, roomId));
  return rows.map((row) => row.seq).sort((a, b) => a - b);
}

/** The seqs of the room's logged events (messages and the rest), ascending: gapless means 1…lastSeq. */
async function loggedSeqs(database: Database, roomId: string): Promise<number[]> {
  const rows = await database.db.select({ seq: roomEvents.seq }).from(roomEvents).where(eq(roomEvents.roomId, roomId));
  return rows.map((row) => row.seq).sort((a, b) => a - b);
}

describe.skipIf(!databaseKinds.includes("postgres"))("group commit against other transactions, on postgres", () => {
  let deps: TestDeps;
  let db: { url: string; name: string };
  let admin: postgres.Sql;
  beforeAll(async () => {
    deps = await createTestDeps("postgres");
    db = await postgresUrlOf(deps.database);
    admin = postgres(db.url, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await admin?.end({ timeout: 5 });
    await deps?.close();
  });

  /** Until `count` backends of the test database wait on a lock (row lock, or another transaction's unique entry). */
  async function lockWaiters(count: number): Promise<void> {
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
      const [row] = await admin`select count(*)::int as n from pg_stat_activity where datname = ${db.name} and wait_event_type = 'Lock'`;
      if ((row?.n as number) >= count) return;
    }
    throw new Error(`fewer than ${count} lock waiters after 10 s`);
  }

  it("refuses a send queued behind a kick that held the room, while the rest of its batch commits", async () => {
    const { messages, batches } = batchingMessages(deps);
    const { room, members } = await roomWith(deps, 3);
    const [, kicked, stays] = members as [(typeof members)[0], (typeof members)[0], (typeof members)[0]];
    // Another transaction (a kick, as rooms.kick does it) holds the room row and removes a member, uncommitted.
    const kick = await admin.reserve();
    try {
      await kick`begin`;
      await kick`select id from rooms where id = ${room.id} for no key update`;
      await kick`delete from room_members where room_id = ${room.id} and user_id = ${kicked.id}`;
      const sends = Promise.allSettled([
        messages.send(kicked.id, { roomId: room.id, clientMsgId: clientMsgId("kicked"), body: "am I still here?" }),
        messages.send(stays.id, { roomId: room.id, clientMsgId: clientMsgId("stays"), body: "I am" }),
      ]);
      await lockWaiters(1);
      await kick`commit`;
      const [refused, sent] = await sends;
      expect(refused).toMatchObject({ status: "rejected", reason: { code: "FORBIDDEN" } });
      expect(sent).toMatchObject({ status: "fulfilled", value: { created: true, message: { seq: 3 } } }); // after two joins
      expect(batches).toMatchObject([{ sends: 2, created: 1, transactions: 1, path: "batch" }]);
    } finally {
      kick.release();
    }
  });

  it("lets two instances sending the same messages to the same rooms commit each exactly once", async () => {
    const other = await createPostgresDatabase({ url: db.url, poolSize: 2 });
    try {
      const [a, b] = [batchingMessages(deps), batchingMessages(deps, { database: other })];
      const { room, members } = await roomWith(deps, 5);
      const inputs = members.flatMap((member) =>
        Array.from({ length: 20 }, (_, i) => ({ userId: member.id, input: { roomId: room.id, clientMsgId: clientMsgId("twice"), body: `${i}` } })),
      );
      const [fromA, fromB] = await Promise.all(
        [a, b].map(({ messages }) => Promise.all(inputs.map(({ userId, input }) => messages.send(userId, input)))),
      );
      inputs.forEach((_, i) => {
        const pair = [fromA![i]!, fromB![i]!];
        expect(pair.filter((outcome) => outcome.created)).toHaveLength(1);
        expect(pair[0]!.message).toEqual(pair[1]!.message);
      });
      expect(await storedSeqs(deps.database, room.id)).toEqual(seqsAfter(4, 100));
      expect(await loggedSeqs(deps.database, room.id)).toEqual(oneTo(104));
    } finally {
      await other.close();
    }
  });

  it("commits a failed batch's sends one by one, so only the send whose id another instance took fails", async () => {
    const other = await createPostgresDatabase({ url: db.url, poolSize: 2 });
    try {
      const [a, b] = [batchingMessages(deps), batchingMessages(deps, { database: other })];
      const [alice, bob, carol] = await Promise.all([createUser(deps.database), createUser(deps.database), createUser(deps.database)]);
      const room = async (...members: string[]): Promise<string> => {
        const created = await deps.services.rooms.create(alice.id, { name: token(), kind: "private" });
        for (const userId of members) await inviteAndAccept(deps, alice.id, created.id, userId);
        return created.id;
      };
      const [first, second, third] = [await room(bob.id), await room(carol.id), await room()];
      const shared = clientMsgId("shared");
      // A third instance's transaction holds `shared` uncommitted: both batches pass their duplicate check and
      // block on inserting it. When it rolls back, one batch commits `shared`; the other hits the unique index.
      const holder = await admin.reserve();
      await holder`begin`;
      await holder`update rooms set last_seq = last_seq + 1 where id = ${third}`;
      await holder`insert into messages (room_id, seq, sender_id, client_msg_id, body) values (${third}, 1, ${alice.id}, ${shared}, 'x')`;
      const sends = Promise.allSettled([
        a.messages.send(alice.id, { roomId: first, clientMsgId: shared, body: "same" }),
        a.messages.send(bob.id, { roomId: first, clientMsgId: clientMsgId("bob"), body: "bob's" }),
        b.messages.send(alice.id, { roomId: second, clientMsgId: shared, body: "same" }),
        b.messages.send(carol.id, { roomId: second, clientMsgId: clientMsgId("carol"), body: "carol's" }),
      ]);
      await lockWaiters(2);
      await holder`rollback`;
      holder.release();
      const [sharedA, bobs, sharedB, carols] = await sends;

      const sharedOutcomes = [sharedA, sharedB];
      expect(sharedOutcomes.filter((outcome) => outcome.status === "fulfilled")).toMatchObject([{ value: { created: true } }]);
      expect(sharedOutcomes.filter((outcome) => outcome.status === "rejected")).toMatchObject([{ reason: CONFLICT }]);
      expect(bobs).toMatchObject({ status: "fulfilled", value: { created: true, message: { body: "bob's" } } });
      expect(carols).toMatchObject({ status: "fulfilled", value: { created: true, message: { body: "carol's" } } });
      const paths = [...a.batches, ...b.batches].map((batch) => batch.path).sort();
      expect(paths).toEqual(["batch", "one-by-one"]);
      expect(await admin`select 1 from messages where sender_id = ${alice.id} and client_msg_id = ${shared}`).toHaveLength(1);
      for (const roomId of [first, second, third]) {
        expect(await loggedSeqs(deps.database, roomId)).toEqual(oneTo(await lastSeqOf(deps, roomId)));
      }
    } finally {
      await other.close();
    }
  });

  it("rejects every send its closed pool could not commit, acknowledging exactly those it committed", async () => {
    const own = await createPostgresDatabase({ url: db.url, poolSize: 4 });
    const holder = await admin.reserve();
    try {
      const { messages } = batchingMessages(deps, { database: own });
      const { room, members } = await roomWith(deps, 5);
      const send = (userId: string): Promise<SendOutcome> =>
        messages.send(userId, { roomId: room.id, clientMsgId: clientMsgId("down"), body: "anyone there?" });
      // The first batch blocks on the room's row lock and more sends queue behind it; then the pool closes.
      await holder`begin`;
      await holder`select id from rooms where id = ${room.id} for update`;
      const inFlight = members.map((member) => send(member.id));
      await lockWaiters(1);
      const queued = members.flatMap((member) => [send(member.id), send(member.id)]);
      const closed = own.close();
      await holder`rollback`;
      const outcomes = await Promise.allSettled([...inFlight, ...queued]);
      await closed;

      expect(outcomes.slice(inFlight.length).map((outcome) => outcome.status)).toEqual(queued.map(() => "rejected"));
      const acked = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value.message.seq] : []));
      expect(await storedSeqs(deps.database, room.id)).toEqual(acked.sort((a, b) => a - b)); // acked ⇔ committed
      const after = await deps.services.messages.send(members[0]!.id, { roomId: room.id, clientMsgId: clientMsgId("up"), body: "back" });
      expect(after.message.seq).toBe(4 + acked.length + 1); // a rejected send used up no seq
      expect(await loggedSeqs(deps.database, room.id)).toEqual(oneTo(after.message.seq));
    } finally {
      holder.release();
    }
  });
});

describe("group commit when PGlite closes", () => {
  it("acknowledges only sends it committed and rejects the rest", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "parley-batch-close-"));
    try {
      let database = await createPgliteDatabase({ dataDir, runtime: "vitest" });
      const clock = systemClock;
      const logger = createLogger({ level: "silent" });
      const events = createBusEventPublisher(createMemoryBus());
      const rateLimiter = createMemoryRateLimiter({ clock });
      const log = createRoomLog({ database, events, recentEvents: createMemoryRecentEvents({ clock }), logger });
      const rooms = createRoomService({ database, events, log, clock, logger, rateLimiter, rates: roomRates, limits: TEST_LIMITS });
      const members = await Promise.all(Array.from({ length: 5 }, () => createUser(database)));
      const room = await rooms.create(members[0]!.id, { name: token(), kind: "private" });
      for (const member of members.slice(1)) await inviteAndAccept({ services: { rooms } }, members[0]!.id, room.id, member.id);
      let closed: Promise<void> | null = null;
      const messages = createMessageService({
        database,
        rooms,
        log,
        rateLimiter,
        logger,
        metrics: createMetrics(),
        sendRate: { capacity: 1000, periodSeconds: 1 },
        // The database closes right after the first batch committed, with nine more batches queued behind it.
        batching: { maxBatchSize: 10, onBatch: () => void (closed ??= database.close()) },
      });
      const sends = members.flatMap((member) =>
        Array.from({ length: 20 }, () => messages.send(member.id, { roomId: room.id, clientMsgId: clientMsgId("c"), body: "bye" })),
      );
      const outcomes = await Promise.allSettled(sends);
      await closed;

      const acked = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value.message.seq] : []));
      expect(acked.length).toBeGreaterThanOrEqual(10);
      expect(acked.length).toBeLessThan(100);
      database = await createPgliteDatabase({ dataDir, runtime: "vitest" });
      expect(await storedSeqs(database, room.id)).toEqual(acked.sort((a, b) => a - b)); // acked ⇔ committed
      expect(acked).toEqual(seqsAfter(4, acked.length));
      expect(await loggedSeqs(database, room.id)).toEqual(oneTo(4 + acked.length));
      await database.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000); // two cold starts of a file-backed PGlite, each several seconds on a loaded machine
});
