import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import type { Database, Db } from "./database.ts";
import { migrationsFolder } from "./migrations-folder.ts";
import * as schema from "./schema.ts";

/** Any 64-bit constant works; it only has to be the same for every Parley instance. */
const MIGRATION_LOCK_ID = 727274;

export async function createPostgresDatabase(options: { url: string; poolSize: number }): Promise<Database> {
  await runPostgresMigrations(options.url);
  const client = postgres(options.url, {
    max: options.poolSize,
    onnotice: () => {},
    // postgres.js backs off up to 20 s between reconnects by default, so sends stayed refused long after a
    // restarted Postgres was back. Capped at 2 s: an outage ends for us within ~2 s of its real end.
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 2) * (0.5 + Math.random() / 2),
    connect_timeout: 5,
  });
  const db = drizzle({ client, schema });
  return {
    db: db as unknown as Db,
    kind: "postgres",
    ping: async () => {
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * Applies drizzle/ under a session advisory lock: drizzle's migrator takes none, so instances booting together on
 * a fresh database would race. A one-connection client keeps the lock and the migration on the same session.
 */
export async function runPostgresMigrations(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    await migrate(drizzle({ client, schema }), { migrationsFolder });
    await client`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
  } finally {
    await client.end({ timeout: 5 });
  }
}
