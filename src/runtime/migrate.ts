// `npm run db:migrate`: applies drizzle/ to DATABASE_URL (or the embedded database) and exits.
import { parseConfig } from "../config.ts";
import { createPgliteDatabase } from "../infra/db/pglite.ts";
import { createPostgresDatabase } from "../infra/db/postgres.ts";

const config = parseConfig(process.env);
const database =
  config.database.kind === "postgres"
    ? await createPostgresDatabase({ url: config.database.url, poolSize: 1 })
    : await createPgliteDatabase({ dataDir: config.database.kind === "pglite" ? config.database.dataDir : null });
await database.close();
process.stdout.write(JSON.stringify({ level: "info", msg: "migrations applied", database: database.kind }) + "\n");
