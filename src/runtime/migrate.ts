// `npm run db:migrate` (and Fly's release_command): applies drizzle/ to DATABASE_URL, or the embedded database
// outside production, and exits. Any refusal is one JSON line on stderr and exit code 1.
import { type Config, ConfigError, parseConfig } from "../config.ts";
import { DataDirLockedError } from "../infra/db/data-dir-lock.ts";
import { createPgliteDatabase } from "../infra/db/pglite.ts";
import { createPostgresDatabase } from "../infra/db/postgres.ts";

const runtime = process.versions.bun ? "bun" : process.versions.deno ? "deno" : "node";

function fail(msg: string, fields: Record<string, unknown> = {}): never {
  process.stderr.write(`${JSON.stringify({ level: "fatal", msg, ...fields })}\n`);
  process.exit(1);
}

let config: Config;
try {
  config = parseConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) fail(error.message, { issues: error.issues });
  throw error;
}
if (config.env === "production" && config.database.kind !== "postgres") {
  // A release machine has no volume: migrating an embedded database there migrates a disposable copy, and the
  // deploy would go on as if the real one had been.
  fail("refusing to migrate: in production DATABASE_URL must be a postgres:// URL (an embedded database migrates itself at boot)", {
    database: config.database.kind,
  });
}
try {
  const database =
    config.database.kind === "postgres"
      ? await createPostgresDatabase({ url: config.database.url, poolSize: 1 })
      : await createPgliteDatabase(config.database.kind === "pglite" ? { dataDir: config.database.dataDir, runtime } : { dataDir: null });
  await database.close();
  process.stdout.write(`${JSON.stringify({ level: "info", msg: "migrations applied", database: database.kind })}\n`);
} catch (error) {
  if (error instanceof DataDirLockedError) fail(error.message, { lock: error.path, holder: error.holder });
  fail("migrations failed", { error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error) });
}
