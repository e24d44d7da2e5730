import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eq, getTableName, is, sql } from "drizzle-orm";
import { bigint, PgTable, pgSchema, serial, text } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { type Database, isUniqueViolation } from "../../src/infra/db/database.ts";
import { migrationsFolder } from "../../src/infra/db/migrations-folder.ts";
import * as schema from "../../src/infra/db/schema.ts";

export interface DatabaseHarness {
  /** The database under test, opened (and migrated) once for the suite. */
  database(): Database;
  /** Implementation-specific specifications, run inside the same describe block. */
  additionalTests?(): void;
}

/** drizzle's own bookkeeping table: one row per applied migration. */
const appliedMigrations = pgSchema("drizzle").table("__drizzle_migrations", {
  id: serial("id").primaryKey(),
  hash: text("hash").notNull(),
  createdAt: bigint("created_at", { mode: "number" }),
});

/** The migrations drizzle-kit generated, as listed in drizzle/meta/_journal.json. */
export function journalMigrations(): string[] {
  const journal = z
    .object({ entries: z.array(z.object({ tag: z.string() })) })
    .parse(JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")));
  return journal.entries.map((entry) => entry.tag);
}

export async function appliedMigrationHashes(database: Database): Promise<string[]> {
  const rows = await database.db.select({ hash: appliedMigrations.hash }).from(appliedMigrations);
  return rows.map((row) => row.hash);
}

const schemaExports: unknown[] = Object.values(schema); // tables and enums
const schemaTables = schemaExports.filter((value): value is PgTable => is(value, PgTable));

/** The Database port's specification, run against one implementation (PGlite or postgres.js). */
export function testDatabase(name: string, harness: DatabaseHarness): void {
  describe(`Database contract: ${name}`, () => {
    it("has every migration applied exactly once", async () => {
      const hashes = await appliedMigrationHashes(harness.database());
      expect(hashes).toHaveLength(journalMigrations().length);
      expect(new Set(hashes).size).toBe(hashes.length);
    });

    it("has every table and column that schema.ts declares", async () => {
      expect(schemaTables.map((table) => getTableName(table))).toEqual(
        expect.arrayContaining(["users", "rooms", "room_members", "messages", "sessions", "refresh_tokens"]),
      );
      // Selecting every declared column fails if a migration is missing for any of them.
      for (const table of schemaTables) {
        await expect(harness.database().db.select().from(table).limit(1), getTableName(table)).resolves.toBeInstanceOf(Array);
      }
    });

    it("answers ping", async () => {
      await expect(harness.database().ping()).resolves.toBeUndefined();
    });

    it("rolls back every write of a transaction that throws", async () => {
      const { db } = harness.database();
      const name = `rollback_${Math.random().toString(36).slice(2, 10)}`;
      const user = { email: `${name}@example.test`, username: name, displayName: name, passwordHash: "x" };
      const failing = db.transaction(async (tx) => {
        await tx.insert(schema.users).values(user);
        throw new Error("abort the transaction");
      });
      await expect(failing).rejects.toThrow("abort the transaction");
      expect(await db.select().from(schema.users).where(eq(schema.users.username, name))).toEqual([]);
    });

    it("recognises a real unique violation from the driver, and nothing else as one", async () => {
      const { db } = harness.database();
      const name = `unique_${Math.random().toString(36).slice(2, 10)}`;
      await db.insert(schema.users).values({ email: `${name}@example.test`, username: name, displayName: name, passwordHash: "x" });
      const duplicate = await db.insert(schema.users).values({ email: `${name}@example.test`, username: `${name}_2`, displayName: name, passwordHash: "x" }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(duplicate).not.toBeNull();
      expect(isUniqueViolation(duplicate)).toBe(true);

      const otherFailure = await db.execute(sql`select 1 / 0`).then(
        () => null,
        (error: unknown) => error,
      );
      expect(otherFailure).not.toBeNull();
      expect(isUniqueViolation(otherFailure)).toBe(false);
    });

    harness.additionalTests?.();
  });
}
