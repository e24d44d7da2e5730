import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/infra/db/database.ts";
import { createPostgresDatabase } from "../../src/infra/db/postgres.ts";
import { createPostgresTestDatabase, createTestDatabase, databaseKinds } from "../support/databases.ts";
import { appliedMigrationHashes, journalMigrations, testDatabase } from "./database.contract.ts";

describe.each(databaseKinds)("%s database", (kind) => {
  let database: Database;
  let drop: (() => Promise<void>) | undefined; // unset when opening the database failed
  beforeAll(async () => {
    ({ database, drop } = await createTestDatabase(kind));
  });
  afterAll(async () => {
    await drop?.();
  });

  testDatabase(kind, {
    database: () => database,
    additionalTests() {
      if (kind !== "postgres") return;
      it("lets 4 instances booting together on a fresh database all migrate it, exactly once", async () => {
        const fresh = await createPostgresTestDatabase();
        const opened: Database[] = [];
        try {
          const boots = await Promise.allSettled(
            Array.from({ length: 4 }, () => createPostgresDatabase({ url: fresh.url, poolSize: 2 })),
          );
          for (const boot of boots) if (boot.status === "fulfilled") opened.push(boot.value);
          expect(boots.map((boot) => (boot.status === "fulfilled" ? "ok" : String(boot.reason)))).toEqual([
            "ok",
            "ok",
            "ok",
            "ok",
          ]);
          const [first] = opened;
          if (!first) throw new Error("no instance booted");
          const hashes = await appliedMigrationHashes(first);
          expect(hashes).toHaveLength(journalMigrations().length);
          expect(new Set(hashes).size).toBe(hashes.length);
        } finally {
          await Promise.all(opened.map((each) => each.close()));
          await fresh.drop();
        }
      });
    },
  });
});
