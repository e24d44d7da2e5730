// The ceiling for Parley's send path: the bare per-message transaction, with nothing around it — no HTTP, no
// socket, no validation, no membership check, no publish. `connections` concurrent clients each run, back to back,
//   BEGIN; UPDATE rooms SET last_seq = last_seq + 1, updated_at = clock_timestamp() WHERE id = $1 RETURNING last_seq;
//          INSERT INTO messages (room_id, seq, sender_id, client_msg_id, body, created_at) VALUES (…); COMMIT
// on Parley's own tables (its drizzle migrations, so the same columns, indexes and foreign keys), in a fresh
// database this script creates and drops. Run by bench/run.ts under Bun with the job as JSON in argv[2]; prints
// one JSON line with the result.
import postgres from "postgres";
import { runPostgresMigrations } from "../../src/infra/db/postgres.ts";
import { createFreshDatabase } from "../lib/databases.ts";
import { LatencyRecorder } from "../lib/stats.ts";
import type { LatencySummary } from "../lib/jobs.ts";

export interface CeilingJob {
  adminUrl: string;
  connections: number;
  /**
   * One measured case per entry; connection c writes to the rooms r ≡ c (mod rooms / roomsPerSender). `connections`
   * overrides the job's (1: the serial latency of one transaction, the floor under any send's ack).
   */
  cases: { rooms: number; roomsPerSender: number; connections?: number }[];
  warmupMs: number;
  measureMs: number;
}

export interface CeilingCase {
  rooms: number;
  connections: number;
  committed: number;
  windowMs: number;
  commit: LatencySummary;
}

const job = JSON.parse(process.argv[2] ?? "null") as CeilingJob;
const database = await createFreshDatabase(job.adminUrl, "ceiling");
try {
  await runPostgresMigrations(database.url);
  const sql = postgres(database.url, { max: job.connections, onnotice: () => {} });
  const senders = await sql<{ id: string }[]>`
    insert into users (email, username, display_name, password_hash)
    select 'c' || i || '@bench.test', 'c' || i, 'c' || i, 'x' from generate_series(1, ${job.connections}) as i
    returning id`;
  const cases: CeilingCase[] = [];
  let counter = 0; // client_msg_id is unique per sender across every case
  for (const { rooms, roomsPerSender, connections = job.connections } of job.cases) {
    const roomIds = (await sql<{ id: string }[]>`
      insert into rooms (kind, name) select 'public', 'ceiling ' || i from generate_series(1, ${rooms}) as i returning id`).map((row) => row.id);
    const modulus = rooms / roomsPerSender;
    let running = true;
    let committed = 0;
    let windowStart = Number.POSITIVE_INFINITY;
    let windowEnd = Number.POSITIVE_INFINITY;
    const commit = new LatencyRecorder();
    const worker = async (connection: number): Promise<void> => {
      const mine = roomIds.filter((_, room) => room % modulus === connection % modulus);
      const senderId = (senders[connection] as { id: string }).id;
      while (running) {
        const roomId = mine[Math.floor(Math.random() * mine.length)] as string;
        const index = counter++;
        const startedAt = performance.now();
        await sql.begin(async (tx) => {
          const [room] = await tx<{ last_seq: string }[]>`
            update rooms set last_seq = last_seq + 1, updated_at = clock_timestamp() where id = ${roomId} returning last_seq`;
          await tx`
            insert into messages (room_id, seq, sender_id, client_msg_id, body, created_at)
            values (${roomId}, ${(room as { last_seq: string }).last_seq}, ${senderId}, ${`m${index}`}, ${`t${index} ceiling body`}, clock_timestamp())`;
        });
        const now = performance.now();
        if (now >= windowStart && now < windowEnd) {
          committed += 1;
          if (startedAt >= windowStart) commit.record(now - startedAt);
        }
      }
    };
    const workers = Array.from({ length: connections }, (_, connection) => worker(connection));
    await new Promise((resolve) => setTimeout(resolve, job.warmupMs));
    windowStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, job.measureMs));
    windowEnd = performance.now();
    running = false;
    await Promise.all(workers);
    cases.push({ rooms, connections, committed, windowMs: windowEnd - windowStart, commit: commit.summary() });
  }
  await sql.end({ timeout: 5 });
  process.stdout.write(`${JSON.stringify({ kind: "ceiling", cases })}\n`);
} finally {
  await database.drop();
}
