import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import type { Database, Db } from "./database.ts";
import { type DataDirLock, type LockHolder, lockDataDir } from "./data-dir-lock.ts";
import { migrationsFolder } from "./migrations-folder.ts";
import * as schema from "./schema.ts";

export type PgliteOptions =
  | { dataDir: null }
  | {
      dataDir: string;
      /** Written into the data dir's lock, so a second process can say who holds it. */
      runtime: string;
      /** A dead process's lock was taken over (it was killed or crashed without closing). */
      onStaleLock?: (stale: LockHolder) => void;
    };

/**
 * Embedded Postgres. `dataDir` null keeps everything in memory. A data dir is opened by one process at a time:
 * two PGlite instances on one directory overwrite each other's writes, so it is locked first (data-dir-lock.ts)
 * and a second process fails with DataDirLockedError. Migrations run on open; PGlite is single-connection, so
 * they need no lock of their own.
 */
export async function createPgliteDatabase(options: PgliteOptions): Promise<Database> {
  let lock: DataDirLock | null = null;
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true }); // PGlite's own mkdir is not recursive
    lock = lockDataDir({ dir: options.dataDir, runtime: options.runtime, onStaleLock: options.onStaleLock });
  }
  let client: PGlite | null = null;
  try {
    client = options.dataDir ? new PGlite(options.dataDir) : new PGlite();
    await client.waitReady;
    const db = drizzle({ client, schema });
    await migrate(db, { migrationsFolder });
    const open = client;
    return {
      db: db as unknown as Db,
      kind: "pglite",
      ping: async () => {
        await open.query("select 1");
      },
      close: async () => {
        try {
          await open.close();
        } finally {
          lock?.release(); // only once PGlite has flushed and let go of the files
        }
      },
    };
  } catch (error) {
    await client?.close().catch(() => {});
    lock?.release();
    throw error;
  }
}
