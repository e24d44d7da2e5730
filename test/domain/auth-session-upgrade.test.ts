import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { sha256 } from "@oslojs/crypto/sha2";
import { encodeHexLowerCase } from "@oslojs/encoding";
import { sql } from "drizzle-orm";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { createAuthService } from "../../src/domain/auth/auth.service.ts";
import { newOpaqueToken } from "../../src/domain/auth/opaque-token.ts";
import type { Database, Db } from "../../src/infra/db/database.ts";
import { createPostgresDatabase } from "../../src/infra/db/postgres.ts";
import { migrationsFolder } from "../../src/infra/db/migrations-folder.ts";
import { createMemoryKeyValueStore } from "../../src/infra/kv/memory.ts";
import { createMemoryRateLimiter } from "../../src/infra/rate-limit/memory.ts";
import { systemClock } from "../../src/lib/clock.ts";
import { createLogger } from "../../src/lib/logger.ts";
import * as schema from "../../src/infra/db/schema.ts";
import { createPostgresTestDatabase, databaseKinds } from "../support/databases.ts";
import { TEST_JWT, TEST_RATE_LIMITS } from "../support/test-deps.ts";

/** drizzle/ as it was before sessions had tables: the migrations up to 0002. */
function migrationsBeforeSessions(): string {
  const folder = mkdtempSync(join(tmpdir(), "parley-migrations-"));
  cpSync(migrationsFolder, folder, { recursive: true });
  const journalPath = join(folder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
  journal.entries = journal.entries.filter((entry) => entry.tag < "0003");
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}

const hashOf = (token: string): string => encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
const day = 86_400_000;

/**
 * Sessions used to live in the KV (`kv_entries`); the migration that adds the tables carries the live ones over.
 * Written here exactly as the previous release wrote them, then the database is upgraded under them.
 */
describe.each(databaseKinds)("upgrading the sessions kept in the KV on %s", (kind) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** A database at 0002, a function that upgrades it to the current schema, and the resulting Database. */
  async function databaseBeforeSessions(): Promise<{ db: Db; upgrade(): Promise<Database> }> {
    const folder = migrationsBeforeSessions();
    cleanups.push(async () => rmSync(folder, { recursive: true, force: true }));
    if (kind === "pglite") {
      const client = new PGlite();
      const db = drizzlePglite({ client, schema });
      await migratePglite(db, { migrationsFolder: folder });
      cleanups.push(() => client.close());
      return {
        db: db as unknown as Db,
        upgrade: async () => {
          await migratePglite(db, { migrationsFolder });
          return { db: db as unknown as Db, kind: "pglite", ping: async () => {}, close: async () => {} };
        },
      };
    }
    const { url, drop } = await createPostgresTestDatabase();
    cleanups.push(drop);
    const client = postgres(url, { max: 1, onnotice: () => {} });
    cleanups.push(() => client.end());
    const db = drizzlePostgres({ client, schema });
    await migratePostgres(db, { migrationsFolder: folder });
    return {
      db: db as unknown as Db,
      upgrade: async () => {
        const database = await createPostgresDatabase({ url, poolSize: 2 });
        cleanups.push(() => database.close());
        return database;
      },
    };
  }

  it("keeps every live session signed in, recognises its used tokens, and drops the ended ones", async () => {
    const old = await databaseBeforeSessions();
    // Only the columns users had at 0002: the schema's insert would name ones added since.
    const inserted: unknown = await old.db.execute(
      sql`insert into users (email, username, display_name, password_hash) values (${"old@example.test"}, ${"old_user"}, ${"Old"}, ${"not-a-hash"}) returning id`,
    );
    // PGlite answers { rows }, postgres.js the rows themselves.
    const [user] = (Array.isArray(inserted) ? inserted : (inserted as { rows: unknown[] }).rows) as { id: string }[];
    if (!user) throw new Error("user insert returned nothing");
    const now = Date.now();
    const [sessionId, expiredId, orphanId] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const [live, used, expiredToken] = [newOpaqueToken(), newOpaqueToken(), newOpaqueToken()];
    const rows: { key: string; value: string; expiresAt: Date }[] = [
      {
        key: `auth:session:${sessionId}`,
        value: JSON.stringify({ userId: user.id, createdAt: now - day, expiresAt: now + 29 * day, generation: 1, userAgent: 'Firefox "quoted"', ip: "203.0.113.5" }),
        expiresAt: new Date(now + 29 * day),
      },
      {
        key: `auth:refresh:${hashOf(live)}`,
        value: JSON.stringify({ sessionId, userId: user.id, generation: 1, expiresAt: now + 29 * day }),
        expiresAt: new Date(now + 29 * day),
      },
      {
        key: `auth:refresh-used:${hashOf(used)}`,
        value: JSON.stringify({ sessionId, userId: user.id, generation: 0, usedAt: now - day }),
        expiresAt: new Date(now + 29 * day),
      },
      // Past its absolute expiry (the KV row itself not yet purged), and a session of a user that no longer exists.
      {
        key: `auth:session:${expiredId}`,
        value: JSON.stringify({ userId: user.id, createdAt: now - 31 * day, expiresAt: now - day, generation: 0, userAgent: null, ip: null }),
        expiresAt: new Date(now + day),
      },
      {
        key: `auth:refresh:${hashOf(expiredToken)}`,
        value: JSON.stringify({ sessionId: expiredId, userId: user.id, generation: 0, expiresAt: now - day }),
        expiresAt: new Date(now + day),
      },
      {
        key: `auth:session:${orphanId}`,
        value: JSON.stringify({ userId: crypto.randomUUID(), createdAt: now, expiresAt: now + day, generation: 0, userAgent: null, ip: null }),
        expiresAt: new Date(now + day),
      },
      // Not of the server's making: left unread rather than failing the migration.
      { key: `auth:session:${crypto.randomUUID()}`, value: "{not json", expiresAt: new Date(now + day) },
      { key: `auth:refresh:${"f".repeat(64)}`, value: '{"sessionId": 1}', expiresAt: new Date(now + day) },
      { key: "auth:ws-ticket:abc", value: "{}", expiresAt: new Date(now + 30_000) },
    ];
    // The table left the schema with 0004; 0002 still has it.
    for (const row of rows) {
      await old.db.execute(sql`insert into kv_entries (key, value, expires_at) values (${row.key}, ${row.value}, ${row.expiresAt.toISOString()})`);
    }

    const database = await old.upgrade();
    const auth = createAuthService({
      database,
      ticketKv: createMemoryKeyValueStore({ clock: systemClock }),
      rateLimiter: createMemoryRateLimiter({ clock: systemClock }),
      events: { toRoom: async () => {}, toUser: async () => {}, toInstances: async () => {} },
      clock: systemClock,
      logger: createLogger({ level: "silent" }),
      jwt: TEST_JWT,
      refreshTokenTtlSeconds: 30 * 86400,
      rateLimits: TEST_RATE_LIMITS,
      // No account is deleted in this spec.
      leaveEveryRoom: async () => ({ failed: 0 }),
    });

    const [carried] = await database.db.select().from(schema.sessions).where(sql`${schema.sessions.id} = ${sessionId}`);
    expect(carried).toMatchObject({ userId: user.id, generation: 1, userAgent: 'Firefox "quoted"', ip: "203.0.113.5", revokedAt: null });
    expect(carried?.expiresAt.getTime()).toBe(now + 29 * day);
    expect(await database.db.select({ id: schema.sessions.id }).from(schema.sessions)).toEqual([{ id: sessionId }]);
    // 0004 drops the KV table altogether: socket tickets live in memory or Redis.
    const [table] = await rowsOf<{ exists: boolean }>(database.db.execute(sql`select to_regclass('kv_entries') is not null as exists`));
    expect(table?.exists).toBe(false);

    // The live token rotates as before, in the same family, with the same absolute expiry.
    const rotated = await auth.refresh(live, { ip: null, userAgent: null });
    expect(rotated.refreshTokenExpiresAt).toBe(new Date(now + 29 * day).toISOString());
    await expect(auth.verifyAccessToken(rotated.accessToken)).resolves.toEqual({ userId: user.id, sessionId });
    await expect(auth.refresh(expiredToken, { ip: null, userAgent: null })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    // A token used a day before the upgrade is reuse: the family dies.
    await expect(auth.refresh(used, { ip: null, userAgent: null })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(auth.verifyAccessToken(rotated.accessToken)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });
});

/** `db.execute` answers an array on postgres.js and `{ rows }` on PGlite. */
async function rowsOf<T>(result: Promise<unknown>): Promise<T[]> {
  const answer = (await result) as T[] | { rows: T[] };
  return Array.isArray(answer) ? answer : answer.rows;
}
