import postgres from "postgres";
import { inject } from "vitest";
import type { Database } from "../../src/infra/db/database.ts";
import { createPgliteDatabase } from "../../src/infra/db/pglite.ts";
import { createPostgresDatabase } from "../../src/infra/db/postgres.ts";

export type DatabaseKind = "pglite" | "postgres";

/** The database implementations every database-backed suite runs against; postgres only when reachable. */
export const databaseKinds: DatabaseKind[] = inject("postgresUrl") ? ["pglite", "postgres"] : ["pglite"];

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** A fresh, migrated database of its own: in-memory PGlite, or a new database on the machine's Postgres. */
export async function createTestDatabase(kind: DatabaseKind): Promise<{ database: Database; url: string | null; drop(): Promise<void> }> {
  if (kind === "pglite") {
    const database = await createPgliteDatabase({ dataDir: null });
    return { database, url: null, drop: () => database.close() };
  }
  const { url, drop } = await createPostgresTestDatabase();
  const database = await createPostgresDatabase({ url, poolSize: 10 });
  return {
    database,
    url,
    drop: async () => {
      await database.close();
      await drop();
    },
  };
}

/** Creates an empty database on the machine's Postgres; `drop` removes it (terminating leftover connections). */
export async function createPostgresTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject("postgresUrl");
  if (!adminUrl) throw new Error("Postgres is not reachable");
  const name = uniqueName("parley_test");
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
      await cleanup.end();
    },
  };
}
