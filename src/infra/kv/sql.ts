import { and, eq, gt, isNotNull, isNull, lte, or } from "drizzle-orm";
import type { Clock } from "../../lib/clock.ts";
import type { Database } from "../db/database.ts";
import { kvEntries } from "../db/schema.ts";
import type { KeyValueStore } from "./kv.ts";

const PURGE_INTERVAL_MS = 5 * 60_000;

/**
 * The KV port on the `kv_entries` table, for deployments without Redis (refresh tokens then survive restarts
 * of the embedded PGlite default). Expiry uses the injected clock, passed as a parameter rather than `now()`,
 * so every statement agrees with the caller's idea of time. Expired rows are invisible at once and purged
 * in the background. Each operation is one statement, so atomicity is the database's.
 */
export function createSqlKeyValueStore(options: { database: Database; clock: Clock }): KeyValueStore {
  const { db } = options.database;
  const now = (): Date => options.clock.now();
  const expiry = (ttlSeconds: number): Date => new Date(now().getTime() + ttlSeconds * 1000);
  const live = (at: Date) => or(isNull(kvEntries.expiresAt), gt(kvEntries.expiresAt, at));

  const purge = async (): Promise<void> => {
    await db.delete(kvEntries).where(lte(kvEntries.expiresAt, now()));
  };
  const timer = setInterval(() => {
    // Expired rows are already invisible to every read, so a failed sweep loses nothing: the next one retries.
    purge().catch(() => undefined);
  }, PURGE_INTERVAL_MS);
  timer.unref(); // housekeeping must not keep the process (or a test run) alive

  return {
    get: async (key) => {
      const [row] = await db
        .select({ value: kvEntries.value })
        .from(kvEntries)
        .where(and(eq(kvEntries.key, key), live(now())));
      return row?.value ?? null;
    },
    set: async (key, value, { ttlSeconds }) => {
      const expiresAt = expiry(ttlSeconds);
      await db
        .insert(kvEntries)
        .values({ key, value, expiresAt })
        .onConflictDoUpdate({ target: kvEntries.key, set: { value, expiresAt } });
    },
    setIfAbsent: async (key, value, { ttlSeconds }) => {
      const at = now();
      const expiresAt = expiry(ttlSeconds);
      // The conflict arbiter decides under the row lock: a live row is left alone (no row returned: "exists"),
      // an expired one is overwritten as if absent. Concurrent callers queue on the lock, so one wins.
      const rows = await db
        .insert(kvEntries)
        .values({ key, value, expiresAt })
        .onConflictDoUpdate({
          target: kvEntries.key,
          set: { value, expiresAt },
          setWhere: and(isNotNull(kvEntries.expiresAt), lte(kvEntries.expiresAt, at)),
        })
        .returning({ key: kvEntries.key });
      return rows.length > 0 ? "set" : "exists";
    },
    take: async (key) => {
      const [row] = await db
        .delete(kvEntries)
        .where(and(eq(kvEntries.key, key), live(now())))
        .returning({ value: kvEntries.value });
      return row?.value ?? null;
    },
    delete: async (key) => {
      await db.delete(kvEntries).where(eq(kvEntries.key, key));
    },
    close: async () => {
      clearInterval(timer); // the database belongs to the caller
    },
  };
}
