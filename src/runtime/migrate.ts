// `npm run db:migrate`: applies drizzle/ to DATABASE_URL (or the embedded database) and exits.
import { parseConfig } from "../config.ts";
import { createPgliteDatabase } from "../infra/db/pglite.ts";
import { createPostgresDatabase } from "../infra/db/postgres.ts";

const config = parseConfig(process.env);
const runtime = process.versions.bun ? "bun" : process.versions.deno ? "deno" : "node";
const database =
  config.database.kind === "postgres"
    ? await createPostgresDatabase({ url: config.database.url, poolSize: 1 })
    : await createPgliteDatabase(config.database.kind === "pglite" ? { dataDir: config.database.dataDir, runtime } : { dataDir: null });
await database.close();
process.stdout.write(JSON.stringify({ level: "info", msg: "migrations applied", database: database.kind }) + "\n");
