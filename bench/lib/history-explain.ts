import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { parseConfig } from "../../src/config.ts";
import { createServices, type Services } from "../../src/domain/services.ts";
import { createMemoryBus } from "../../src/infra/bus/memory.ts";
import type { Database, Db } from "../../src/infra/db/database.ts";
import * as schema from "../../src/infra/db/schema.ts";
import { createMemoryKeyValueStore } from "../../src/infra/kv/memory.ts";
import { createMemoryPresenceStore } from "../../src/infra/presence/memory.ts";
import { createMemoryRateLimiter } from "../../src/infra/rate-limit/memory.ts";
import { createMemoryRecentEvents } from "../../src/infra/recent-events/memory.ts";
import { createLocalStorage } from "../../src/infra/storage/local.ts";
import { systemClock } from "../../src/lib/clock.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { createBusEventPublisher } from "../../src/realtime/event-publisher.ts";

/** One read to explain: what the services are asked, as the reader. */
export interface ExplainCall {
  label: string;
  run(services: Services, readerId: string): Promise<unknown>;
}

export interface ExplainedStatement {
  sql: string;
  planningMs: number;
  executionMs: number;
  /** EXPLAIN (ANALYZE, BUFFERS) output. */
  plan: string;
}

export interface ExplainedCall {
  label: string;
  statements: ExplainedStatement[];
  /** Execution time of every statement the call ran, summed: the database's share of one request. */
  executionMs: number;
}

/** Runs SQL with positional parameters on the explaining connection, answering the first column of each row. */
type Explainer = (text: string, params: unknown[]) => Promise<string[]>;

/**
 * Each call made through the real services (in this process, on a connection of its own), every statement it ran
 * captured through drizzle's logger and then run again under EXPLAIN (ANALYZE, BUFFERS) with the same parameters:
 * where the time of one request goes inside the database, and the plans behind it. Each call runs once before it is
 * captured, so caches are as warm as the benchmark's. Postgres plans these as custom plans for the given
 * parameters (postgres.js may reuse a generic plan after several executions of one prepared statement).
 */
export async function explainReads(
  target: { kind: "postgres"; url: string } | { kind: "pglite"; dataDir: string },
  readerId: string,
  calls: readonly ExplainCall[],
): Promise<ExplainedCall[]> {
  let capture: { sql: string; params: unknown[] }[] | null = null;
  const logger = { logQuery: (sql: string, params: unknown[]) => void capture?.push({ sql, params }) };
  let db: Db;
  let explain: Explainer;
  let close: () => Promise<void>;
  if (target.kind === "postgres") {
    const client = postgres(target.url, { max: 1, onnotice: () => {} });
    db = drizzlePostgres({ client, schema, logger }) as unknown as Db;
    explain = async (text, params) => (await client.unsafe(text, params as never[])).map((row) => String(Object.values(row)[0]));
    close = () => client.end({ timeout: 5 });
  } else {
    const client = new PGlite(target.dataDir);
    await client.waitReady;
    db = drizzlePglite({ client, schema, logger }) as unknown as Db;
    explain = async (text, params) => (await client.query<Record<string, unknown>>(text, params)).rows.map((row) => String(Object.values(row)[0]));
    close = () => client.close();
  }
  const database: Database = { db, kind: target.kind, ping: async () => {}, close };
  try {
    const services = servicesOn(database);
    const explained: ExplainedCall[] = [];
    for (const call of calls) {
      await call.run(services, readerId);
      const statements: { sql: string; params: unknown[] }[] = [];
      capture = statements;
      await call.run(services, readerId);
      capture = null;
      const results: ExplainedStatement[] = [];
      for (const statement of statements) {
        const plan = (await explain(`explain (analyze, buffers) ${statement.sql}`, statement.params)).join("\n");
        const time = (name: string): number => Number(new RegExp(`${name} Time: ([\\d.]+) ms`).exec(plan)?.[1] ?? Number.NaN);
        results.push({ sql: statement.sql, planningMs: time("Planning"), executionMs: time("Execution"), plan });
      }
      explained.push({ label: call.label, statements: results, executionMs: results.reduce((sum, result) => sum + result.executionMs, 0) });
    }
    return explained;
  } finally {
    await close();
  }
}

/** The services as the server builds them (src/deps.ts), on in-process adapters and the default configuration. */
function servicesOn(database: Database): Services {
  // A wide search rate: each read is run twice, and a whole benchmark's worth of them in a row.
  const config = parseConfig({ DATABASE_URL: "memory", RATE_LIMIT_SEARCH_PER_USER: "999999/1" });
  const bus = createMemoryBus();
  return createServices({
    database,
    kv: createMemoryKeyValueStore({ clock: systemClock }),
    rateLimiter: createMemoryRateLimiter({ clock: systemClock }),
    recentEvents: createMemoryRecentEvents({ clock: systemClock }),
    events: createBusEventPublisher(bus),
    clock: systemClock,
    logger: createLogger({ level: "silent" }),
    jwt: { secret: "history-explain-history-explain-0123456789", issuer: "parley", audience: "parley-api", accessTokenTtlSeconds: 60 },
    refreshTokenTtlSeconds: 60,
    rateLimits: config.rateLimits,
    limits: config.limits,
    metrics: createMetrics(),
    receiptEventsMaxMembers: config.receiptEventsMaxMembers,
    messageEditWindowSeconds: config.messageEditWindowSeconds,
    // Never reached: these benchmarks read history and upload nothing.
    files: {
      storage: createLocalStorage({ root: join(tmpdir(), "parley-history-explain-files"), publicUrl: config.publicUrl, secret: "unused-unused-unused" }),
      settings: config.files,
    },
    presence: {
      store: createMemoryPresenceStore({ clock: systemClock }),
      instanceId: "history-explain",
      eventsMaxMembers: config.presence.eventsMaxMembers,
      timing: { leaseMs: 60_000, offlineGraceMs: 1000, typingTimeoutMs: 6000 },
    },
  });
}
