import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import type { Database, Db } from "./database.ts";
import { migrationsFolder } from "./migrations-folder.ts";
import * as schema from "./schema.ts";

/** Any 64-bit constant works; it only has to be the same for every Parley instance. */
const MIGRATION_LOCK_ID = 727274;

export async function createPostgresDatabase(options: { url: string; poolSize: number }): Promise<Database> {
  const client = postgres(options.url, { max: options.poolSize, onnotice: () => {} });
  const db = drizzle({ client, schema });
  await runPostgresMigrations(client);
  return {
    db: db as unknown as Db,
    kind: "postgres",
    ping: async () => {
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/** drizzle's migrator takes no lock: instances booting together on a fresh database would race without this. */
export async function runPostgresMigrations(client: postgres.Sql): Promise<void> {
  const conn = await client.reserve();
  try {
    await conn`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    await migrate(drizzle({ client: conn as unknown as postgres.Sql, schema }), { migrationsFolder });
  } finally {
    await conn`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.catch(() => undefined);
    conn.release();
  }
}
