import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as pgliteDrizzle } from "drizzle-orm/pglite";
import { migrate as pgliteMigrate } from "drizzle-orm/pglite/migrator";
import { drizzle as postgresDrizzle } from "drizzle-orm/postgres-js";
import { migrate as postgresMigrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import type { LoggedRoomEvent } from "../../src/domain/events.ts";
import type { Database } from "../../src/infra/db/database.ts";
import { migrationsFolder } from "../../src/infra/db/migrations-folder.ts";
import { createPgliteDatabase } from "../../src/infra/db/pglite.ts";
import { createPostgresDatabase } from "../../src/infra/db/postgres.ts";
import { createPostgresTestDatabase, type DatabaseKind, databaseKinds } from "../support/databases.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";

/** The last migration before rooms became event logs: what `main` ran before issue 9. */
const BEFORE_EVENT_LOG = "0004_add_room_member_counts";

/** drizzle/ as it was at BEFORE_EVENT_LOG: the same files, the journal cut after it. */
function migrationsBeforeEventLog(): string {
  const folder = mkdtempSync(join(tmpdir(), "parley-old-migrations-"));
  cpSync(migrationsFolder, folder, { recursive: true });
  const journalFile = join(folder, "meta/_journal.json");
  const journal = JSON.parse(readFileSync(journalFile, "utf8")) as { entries: { tag: string }[] };
  const cut = journal.entries.findIndex((entry) => entry.tag === BEFORE_EVENT_LOG);
  if (cut < 0) throw new Error(`no migration ${BEFORE_EVENT_LOG}`);
  journal.entries = journal.entries.slice(0, cut + 1);
  writeFileSync(journalFile, JSON.stringify(journal));
  return folder;
}

/** Anything that runs SQL with positional parameters: PGlite's `query` and postgres.js's `unsafe` alike. */
type Exec = (text: string, params?: unknown[]) => Promise<unknown>;

const USERS = ["ann", "bob", "cyd"];
/** Who sends each message of room 1, in seq order (room 2 gets the reverse). */
const SENDERS = [0, 1, 1, 2, 0, 0, 1, 2, 2, 1, 0, 1];
/** Each member's read watermark, per room. */
const READ = [
  [3, 7, 0],
  [12, 1, 5],
];

/**
 * What the old `main` wrote: users, two rooms whose members have read watermarks, and messages whose seqs are
 * every seq of their room (a seq meant "a message" then), with `rooms.last_seq` at the last one.
 */
async function writeOldHistory(exec: Exec): Promise<{ userIds: string[]; roomIds: string[] }> {
  const userIds: string[] = [];
  for (const name of USERS) {
    const id = crypto.randomUUID();
    await exec(`insert into users (id, email, username, display_name, password_hash) values ($1, $2, $3, $4, 'x')`, [id, `${name}@old.test`, `old_${name}`, name]);
    userIds.push(id);
  }
  const roomIds: string[] = [];
  for (const [index, senders] of [SENDERS, [...SENDERS].reverse()].entries()) {
    const roomId = crypto.randomUUID();
    await exec(`insert into rooms (id, kind, name, last_seq) values ($1, 'public', $2, $3)`, [roomId, `old room ${index}`, senders.length]);
    for (const [member, userId] of userIds.entries()) {
      const read = READ[index]![member]!;
      await exec(`insert into room_members (room_id, user_id, role, last_read_seq, last_delivered_seq) values ($1, $2, $3, $4, $4)`, [
        roomId,
        userId,
        member === 0 ? "owner" : "member",
        read,
      ]);
    }
    for (const [position, sender] of senders.entries()) {
      await exec(
        `insert into messages (room_id, seq, sender_id, client_msg_id, body, created_at) values ($1, $2, $3, $4, $5, now() - make_interval(secs => $6))`,
        [roomId, position + 1, userIds[sender], `old-${index}-${position}`, `room ${index} message ${position + 1}`, 1000 - position],
      );
    }
    roomIds.push(roomId);
  }
  return { userIds, roomIds };
}

/** Unread as the old `main` computed it: every seq was a message, so last − read − my own after read. */
function oldUnread(room: number, member: number): number {
  const senders = room === 0 ? SENDERS : [...SENDERS].reverse();
  const read = READ[room]![member]!;
  const ownAfter = senders.filter((sender, position) => sender === member && position + 1 > read).length;
  return senders.length - read - ownAfter;
}

/** Builds a database on the migrations before the event log, writes old history, then opens it as today's code does. */
async function upgradedDatabase(kind: DatabaseKind, cleanups: (() => Promise<void>)[]): Promise<{ database: Database; drop(): Promise<void>; userIds: string[]; roomIds: string[] }> {
  const oldMigrations = migrationsBeforeEventLog();
  cleanups.push(async () => rmSync(oldMigrations, { recursive: true, force: true }));
  if (kind === "pglite") {
    const dataDir = mkdtempSync(join(tmpdir(), "parley-upgrade-"));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const old = new PGlite(dataDir);
    await pgliteMigrate(pgliteDrizzle({ client: old }), { migrationsFolder: oldMigrations });
    const written = await writeOldHistory((text, params) => old.query(text, params));
    await old.close();
    const database = await createPgliteDatabase({ dataDir, runtime: "vitest" });
    return { database, drop: () => database.close(), ...written };
  }
  const { url, drop } = await createPostgresTestDatabase();
  const old = postgres(url, { max: 1, onnotice: () => {} });
  await postgresMigrate(postgresDrizzle({ client: old }), { migrationsFolder: oldMigrations });
  const written = await writeOldHistory((text, params) => old.unsafe(text, params as never[]));
  await old.end();
  const database = await createPostgresDatabase({ url, poolSize: 4 });
  return {
    database,
    drop: async () => {
      await database.close();
      await drop();
    },
    ...written,
  };
}

describe.each(databaseKinds)("upgrading a database written before the room event log, on %s", (kind) => {
  const cleanups: (() => Promise<void>)[] = [];
  let deps: TestDeps;
  let userIds: string[];
  let roomIds: string[];
  afterAll(async () => {
    await deps?.close();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("keeps every message at its seq, logs each as message.created, and keeps every member's unread count", async () => {
    const upgraded = await upgradedDatabase(kind, cleanups);
    ({ userIds, roomIds } = upgraded);
    deps = await createTestDeps(kind, { database: upgraded });

    for (const [room, roomId] of roomIds.entries()) {
      const listed = await deps.services.messages.list(userIds[0]!, { roomId, limit: 100 });
      expect(listed.messages.map((message) => [message.seq, message.body])).toEqual(SENDERS.map((_, i) => [i + 1, `room ${room} message ${i + 1}`]));
      // The log replays exactly those messages, at the same seqs, from Postgres.
      const frames = await deps.services.roomLog.range(roomId, 0, SENDERS.length, 100);
      const events = frames.map((frame) => JSON.parse(frame.frame) as LoggedRoomEvent);
      expect(events.map((event) => [event.seq, event.type])).toEqual(SENDERS.map((_, i) => [i + 1, "message.created"]));
      expect(events.map((event) => (event.type === "message.created" ? event.message : null))).toEqual(listed.messages);
      const position = await deps.services.roomLog.position(roomId);
      expect(position).toEqual({ lastSeq: SENDERS.length, epoch: expect.any(Number) });

      for (const [member, userId] of userIds.entries()) {
        const mine = (await deps.services.rooms.list(userId)).find((candidate) => candidate.id === roomId);
        expect(mine, `member ${member} of room ${room}`).toMatchObject({
          lastSeq: SENDERS.length,
          readSeq: READ[room]![member],
          unread: oldUnread(room, member),
          lastMessage: listed.messages.at(-1),
        });
      }
    }
    // Each room got a stream epoch of its own.
    const epochs = await Promise.all(roomIds.map(async (roomId) => (await deps.services.roomLog.position(roomId))?.epoch));
    expect(new Set(epochs).size).toBe(roomIds.length);
  });

  it("goes on from there: the next message takes the next seq and counts as unread like any other", async () => {
    const [roomId] = roomIds as [string];
    const [ann, bob] = userIds as [string, string];
    const before = (await deps.services.rooms.list(bob)).find((room) => room.id === roomId)!;
    const sent = await deps.services.messages.send(ann, { roomId, clientMsgId: "after-the-upgrade", body: "new" });
    expect(sent.message.seq).toBe(SENDERS.length + 1);
    const after = (await deps.services.rooms.list(bob)).find((room) => room.id === roomId)!;
    expect(after).toMatchObject({ lastSeq: SENDERS.length + 1, unread: before.unread + 1, lastMessage: sent.message });
    // Reading everything clears it, through the counters the upgrade filled in.
    expect(await deps.services.receipts.markRead(bob, { roomId, seq: sent.message.seq })).toMatchObject({ unread: 0 });
  });
});
