// A rough check of the send path alone — messages.send (validation, rate limiter, group commit, in-process publish)
// called in-process, no HTTP or sockets — against the bare one-transaction-per-message loop, both on one fresh
// Postgres database, same rooms and concurrency. Not the benchmark (that is `npm run bench`, over real sockets):
// a quick way to see what batching does to the database side.
//
//   node_modules/.bin/bun bench/group-commit-check.ts [--seconds=5] [--in-flight=50,500] [--postgres=URL]
import postgres from "postgres";
import { createMessageService } from "../src/domain/messages/messages.service.ts";
import { createRoomLog } from "../src/domain/room-log/room-log.ts";
import { createRoomService } from "../src/domain/rooms/rooms.service.ts";
import { createMemoryBus } from "../src/infra/bus/memory.ts";
import { createPostgresDatabase } from "../src/infra/db/postgres.ts";
import { createMemoryRateLimiter } from "../src/infra/rate-limit/memory.ts";
import { createMemoryRecentEvents } from "../src/infra/recent-events/memory.ts";
import { systemClock } from "../src/lib/clock.ts";
import { createLogger } from "../src/lib/logger.ts";
import { createMetrics } from "../src/lib/metrics.ts";
import { createBusEventPublisher } from "../src/realtime/event-publisher.ts";
import { createFreshDatabase } from "./lib/databases.ts";
import { LatencyRecorder } from "./lib/stats.ts";

const flag = (name: string, fallback: string): string =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const seconds = Number(flag("seconds", "5"));
const inFlight = flag("in-flight", "50,500").split(",").map(Number);
const BARE_CONNECTIONS = 50; // the ceiling's connections, as in bench/baselines/postgres-ceiling.ts

const fresh = await createFreshDatabase(flag("postgres", "postgres://postgres@127.0.0.1:5432/postgres"), "group_commit");
const database = await createPostgresDatabase({ url: fresh.url, poolSize: 10 });
const sql = postgres(fresh.url, { max: BARE_CONNECTIONS, onnotice: () => {} });
const logger = createLogger({ level: "warn" });
const events = createBusEventPublisher(createMemoryBus({ logger }));
let batches = 0;
const rateLimiter = createMemoryRateLimiter({ clock: systemClock });
const unlimited = { capacity: 1_000_000_000, periodSeconds: 1 };
const log = createRoomLog({ database, events, recentEvents: createMemoryRecentEvents({ clock: systemClock }), logger });
const messages = createMessageService({
  database,
  rooms: createRoomService({
    database,
    events,
    log,
    clock: systemClock,
    logger,
    rateLimiter,
    rates: { create: unlimited, invite: unlimited, openDirect: unlimited, joinByLink: unlimited, roleChanges: unlimited, moderation: unlimited },
    limits: { roomMaxMembers: 10_000, userMaxRooms: 5_000 },
  }),
  log,
  rateLimiter,
  metrics: createMetrics(),
  logger,
  sendRate: { capacity: 1_000_000_000, periodSeconds: 1 },
  batching: { onBatch: () => void (batches += 1) },
});

const users = await sql<{ id: string }[]>`
  insert into users (email, username, display_name, password_hash)
  select 'u' || i || '@check.test', 'u' || i, 'u' || i, 'x' from generate_series(1, ${Math.max(...inFlight)}) as i returning id`;

/** `count` public rooms with every sender a member. */
async function roomsForAll(count: number): Promise<string[]> {
  const rooms = await sql<{ id: string }[]>`
    insert into rooms (kind, name) select 'public', 'r' || i from generate_series(1, ${count}) as i returning id`;
  const roomIds = rooms.map((room) => room.id);
  await sql`insert into room_members (room_id, user_id)
    select r, u from unnest(${roomIds}::uuid[]) as r, unnest(${users.map((user) => user.id)}::uuid[]) as u`;
  return roomIds;
}

let counter = 0;
/** `senders` loops, each sending as soon as its previous send was acknowledged, for `seconds`. */
async function measure(label: string, senders: number, roomIds: string[], send: (senderId: string, roomId: string, id: string) => Promise<unknown>): Promise<void> {
  const latency = new LatencyRecorder();
  let running = true;
  batches = 0;
  const startedAt = performance.now();
  const loop = async (sender: number): Promise<void> => {
    while (running) {
      const roomId = roomIds[Math.floor(Math.random() * roomIds.length)] as string;
      const sentAt = performance.now();
      await send((users[sender] as { id: string }).id, roomId, `check-${(counter++).toString().padStart(8, "0")}`);
      latency.record(performance.now() - sentAt);
    }
  };
  const loops = Array.from({ length: senders }, (_, sender) => loop(sender));
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  running = false;
  const elapsed = (performance.now() - startedAt) / 1000;
  await Promise.all(loops);
  const { count, p50, p99 } = latency.summary();
  const batching = batches > 0 ? `, ${(count / batches).toFixed(1)} sends per transaction` : "";
  console.log(`${label.padEnd(44)} ${Math.round(count / elapsed).toLocaleString("en").padStart(7)}/s  p50 ${p50.toFixed(1)} ms  p99 ${p99.toFixed(1)} ms${batching}`);
}

const bare = async (senderId: string, roomId: string, id: string): Promise<void> => {
  await sql.begin(async (tx) => {
    const [room] = await tx<{ last_seq: string }[]>`
      update rooms set last_seq = last_seq + 1, updated_at = clock_timestamp() where id = ${roomId} returning last_seq`;
    await tx`insert into messages (room_id, seq, sender_id, client_msg_id, body, created_at)
      values (${roomId}, ${(room as { last_seq: string }).last_seq}, ${senderId}, ${id}, ${`bare ${id}`}, clock_timestamp())`;
  });
};
const parley = (senderId: string, roomId: string, id: string): Promise<unknown> =>
  messages.send(senderId, { roomId, clientMsgId: id, body: `parley ${id}` });

try {
  for (const senders of inFlight) {
    for (const [layout, roomIds] of [["100 rooms", await roomsForAll(100)], ["1 hot room", await roomsForAll(1)]] as const) {
      await measure(`bare, ${layout}, ${Math.min(senders, BARE_CONNECTIONS)} connections`, Math.min(senders, BARE_CONNECTIONS), roomIds, bare);
      await measure(`parley, ${layout}, ${senders} in flight`, senders, roomIds, parley);
    }
  }
} finally {
  await sql.end({ timeout: 5 });
  await database.close();
  await fresh.drop();
}
