import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/infra/db/database.ts";
import { kvEntries } from "../../src/infra/db/schema.ts";
import { createSqlKeyValueStore } from "../../src/infra/kv/sql.ts";
import { systemClock } from "../../src/lib/clock.ts";
import { createTestDatabase, databaseKinds } from "../support/databases.ts";
import { testKeyValueStore, uniqueKey } from "./key-value.contract.ts";

describe.each(databaseKinds)("SQL key-value store on %s", (kind) => {
  let database: Database;
  let drop: (() => Promise<void>) | undefined; // unset when opening the database failed
  beforeAll(async () => {
    ({ database, drop } = await createTestDatabase(kind));
  });
  afterAll(async () => {
    await drop?.();
  });

  testKeyValueStore(`sql (${kind})`, {
    createStore: async (clock) => createSqlKeyValueStore({ database, clock }),
    time: "injected",
    additionalTests() {
      it("keeps values in the kv_entries table, so a new store on the same database (a restart) still has them", async () => {
        const key = uniqueKey("refresh");
        const before = createSqlKeyValueStore({ database, clock: systemClock });
        await before.set(key, "family-1", { ttlSeconds: 60 });
        await before.close();

        const after = createSqlKeyValueStore({ database, clock: systemClock });
        try {
          expect(await after.get(key)).toBe("family-1");
          const rows = await database.db.select().from(kvEntries);
          const row = rows.find((entry) => entry.key === key);
          expect(row?.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 50_000);
        } finally {
          await after.close();
        }
      });

      it("leaves the database open when the store is closed (the database belongs to the caller)", async () => {
        const store = createSqlKeyValueStore({ database, clock: systemClock });
        await store.close();
        await expect(database.ping()).resolves.toBeUndefined();
      });
    },
  });
});
