import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import type { Database, Db } from "./database.ts";
import { migrationsFolder } from "./migrations-folder.ts";
import * as schema from "./schema.ts";

/**
 * Embedded Postgres. `dataDir` null keeps everything in memory. One process at a time may open a data dir.
 * Migrations run on open; PGlite is single-connection, so no lock is needed.
 */
export async function createPgliteDatabase(options: { dataDir: string | null }): Promise<Database> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true }); // PGlite's own mkdir is not recursive
  const client = options.dataDir ? new PGlite(options.dataDir) : new PGlite();
  await client.waitReady;
  const db = drizzle({ client, schema });
  await migrate(db, { migrationsFolder });
  return {
    db: db as unknown as Db,
    kind: "pglite",
    ping: async () => {
      await client.query("select 1");
    },
    close: () => client.close(),
  };
}
