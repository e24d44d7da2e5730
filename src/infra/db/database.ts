import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type * as schema from "./schema.ts";

/** The Drizzle query builder both drivers (PGlite and postgres.js) provide; services only use the builder. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The database port: a Drizzle handle plus the lifecycle the composition root needs. */
export interface Database {
  readonly db: Db;
  readonly kind: "pglite" | "postgres";
  /** Resolves when a trivial query succeeds; rejects otherwise (used by /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Postgres error code for unique_violation, as both drivers surface it. */
export function isUniqueViolation(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    if (typeof current === "object" && current !== null && "code" in current && current.code === "23505") return true;
    current = typeof current === "object" && current !== null && "cause" in current ? current.cause : undefined;
  }
  return false;
}
