import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";
import type { Config } from "./config.ts";
import type { ControlEvent } from "./domain/events.ts";
import { createServices, type Services } from "./domain/services.ts";
import type { JobHandlers } from "./domain/jobs/handlers.ts";
import { type JobStats, readJobStats } from "./domain/jobs/job-ops.ts";
import { createJobWorker, type JobWorker } from "./domain/jobs/job-worker.ts";
import { testJobHandlers } from "./domain/jobs/test-handlers.ts";
import type { BusStatus, EventBus } from "./infra/bus/bus.ts";
import { createMemoryBus } from "./infra/bus/memory.ts";
import { createRedisBus } from "./infra/bus/redis.ts";
import type { Database } from "./infra/db/database.ts";
import { createPgliteDatabase } from "./infra/db/pglite.ts";
import { createPostgresDatabase } from "./infra/db/postgres.ts";
import type { KeyValueStore } from "./infra/kv/kv.ts";
import { createRedisKeyValueStore } from "./infra/kv/redis.ts";
import { createMemoryKeyValueStore } from "./infra/kv/memory.ts";
import { createMemoryPresenceStore } from "./infra/presence/memory.ts";
import type { PresenceStore } from "./infra/presence/presence-store.ts";
import { createRedisPresenceStore } from "./infra/presence/redis.ts";
import { createFallbackRateLimiter } from "./infra/rate-limit/fallback.ts";
import { createMemoryRateLimiter } from "./infra/rate-limit/memory.ts";
import { countRefusals } from "./infra/rate-limit/counted.ts";
import type { RateLimiter } from "./infra/rate-limit/rate-limit.ts";
import { createRedisRateLimiter } from "./infra/rate-limit/redis.ts";
import { createMemoryRecentEvents } from "./infra/recent-events/memory.ts";
import type { RecentEvents } from "./infra/recent-events/recent-events.ts";
import { createRedisRecentEvents } from "./infra/recent-events/redis.ts";
import { connectRedis } from "./infra/redis/connect.ts";
import { createLocalStorage, type LocalStorage } from "./infra/storage/local.ts";
import { createS3Storage } from "./infra/storage/s3.ts";
import type { FileStorage } from "./infra/storage/storage.ts";
import { systemClock } from "./lib/clock.ts";
import { createMetrics, type Metrics } from "./lib/metrics.ts";
import type { Logger } from "./lib/logger.ts";
import { createBusEventPublisher } from "./realtime/event-publisher.ts";
import { mailJobHandlers } from "./domain/email/mail-jobs.ts";
import { createFileJobHandlers } from "./domain/files/files.service.ts";
import { createEmlFileMailer } from "./infra/mail/eml-files.ts";
import type { Mailer } from "./infra/mail/mail.ts";
import { createSmtpMailer } from "./infra/mail/smtp.ts";
import { instancesTopic } from "./realtime/topics.ts";

/** Everything the app runs on, chosen from the config. */
export interface Deps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  database: Database;
  bus: EventBus;
  kv: KeyValueStore;
  /** `stats()` tells whether limits are shared (Redis) or local (fallback while Redis is down) and counts fallbacks. */
  rateLimiter: RateLimiter;
  recentEvents: RecentEvents;
  /** Where uploads live; `local` is set when it is this process's disk (the app then serves its upload/download routes). */
  fileStorage: {
    storage: FileStorage;
    local: LocalStorage | null;
    /** Where browsers POST uploads and load files from when that is not this server (S3): the web app's CSP allows it. */
    browserOrigin: string | null;
  };
  services: Services;
  /** The outbox's worker, running on every instance; lifecycle drains it on SIGTERM alongside the sockets. */
  jobs: JobWorker;
  /** SMTP when SMTP_URL is set, else .eml files under DATA_DIR/mail. */
  mailer: Mailer;
  /** The outbox handlers that send email (email.verify, email.passwordReset, email.changeConfirm, email.changeNotice). */
  mailJobs: JobHandlers;
  busStatus(): BusStatus;
  /** Gives back unfinished jobs, then closes the bus, Redis and the database, in that order. */
  close(): Promise<void>;
}

/**
 * The composition root: the one place that picks adapters. Postgres or embedded PGlite; Redis or in-process
 * bus, in-memory tickets, rate limits, recent-messages cache and presence.
 */
export async function createDeps(config: Config, logger: Logger, host: { runtime: string }): Promise<Deps> {
  const metrics = createMetrics();
  const database = await openDatabase(config, host.runtime, logger);
  let redis: Redis | null = null;
  let bus: EventBus;
  let kv: KeyValueStore;
  let rateLimiter: RateLimiter;
  let recentEvents: RecentEvents;
  let presenceStore: PresenceStore;
  const mailLogger = logger.child({ component: "mail" });
  let mailer: Mailer;
  try {
    mailer = config.mail.smtpUrl
      ? createSmtpMailer({ url: config.mail.smtpUrl, from: config.mail.from, logger: mailLogger })
      : await createEmlFileMailer({ dir: join(config.dataDir, "mail"), from: config.mail.from, logger: mailLogger });
  } catch (error) {
    await database.close();
    throw error;
  }
  try {
    if (config.redis) {
      const { url, prefix } = config.redis;
      redis = await connectRedis({ url, logger, name: "commands" });
      bus = await createRedisBus({ url, prefix, logger: logger.child({ component: "bus" }), instanceId: config.instanceId });
      kv = createRedisKeyValueStore({ client: redis, prefix });
      rateLimiter = createFallbackRateLimiter({
        shared: createRedisRateLimiter({ client: redis, prefix }),
        local: createMemoryRateLimiter({ clock: systemClock, maxBuckets: config.rateLimitMemoryMaxBuckets }),
        clock: systemClock,
        logger,
        onModeChange: (mode) => {
          if (mode === "local") metrics.rateLimitFallbacks.inc();
        },
      });
      recentEvents = createRedisRecentEvents({ client: redis, prefix });
      presenceStore = createRedisPresenceStore({ client: redis, prefix });
    } else {
      bus = createMemoryBus({ logger: logger.child({ component: "bus" }) });
      // Only socket tickets live here (30 s, fine to lose): memory, since one process serves the embedded database.
      kv = createMemoryKeyValueStore({ clock: systemClock });
      rateLimiter = createMemoryRateLimiter({ clock: systemClock, maxBuckets: config.rateLimitMemoryMaxBuckets });
      recentEvents = createMemoryRecentEvents({ clock: systemClock });
      presenceStore = createMemoryPresenceStore({ clock: systemClock });
    }
    rateLimiter = countRefusals(rateLimiter, metrics);
  } catch (error) {
    redis?.disconnect();
    await database.close();
    throw error;
  }


  const jwtSecret = resolveJwtSecret(config, logger);
  const fileStorage = await openFileStorage(config, jwtSecret);
  const services = createServices({
    database,
    kv,
    rateLimiter,
    recentEvents,
    events: createBusEventPublisher(bus),
    clock: systemClock,
    logger,
    jwt: {
      secret: jwtSecret,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      accessTokenTtlSeconds: config.auth.accessTokenTtlSeconds,
    },
    refreshTokenTtlSeconds: config.auth.refreshTokenTtlSeconds,
    rateLimits: config.rateLimits,
    limits: config.limits,
    metrics,
    receiptEventsMaxMembers: config.receiptEventsMaxMembers,
    messageEditWindowSeconds: config.messageEditWindowSeconds,
    files: { storage: fileStorage.storage, settings: config.files },
    requireVerifiedEmail: config.mail.requireVerifiedEmail,
    presence: {
      store: presenceStore,
      instanceId: config.instanceId,
      eventsMaxMembers: config.presence.eventsMaxMembers,
      timing: {
        leaseMs: config.presence.leaseSeconds * 1000,
        offlineGraceMs: config.presence.offlineGraceMs,
        typingTimeoutMs: config.presence.typingTimeoutMs,
      },
    },
  });

  let busStatus: BusStatus = "up";
  bus.onStatus((status) => {
    busStatus = status;
    // Revocations from other instances travel on the bus: while it is down, cached sessions are not trusted.
    services.auth.revocationsReachUs(status === "up");
    if (status === "down") logger.warn("bus down: cross-instance delivery paused; rooms are reconciled when it returns");
    else logger.info("bus up");
  });

  // Every kind of background work and who does it. A job whose kind has no handler is dead at once (an operator can
  // retry it once a release handles it).
  const mailJobs = mailJobHandlers({ database, mailer, publicUrl: config.mail.publicUrl, logger: mailLogger });
  const jobHandlers: JobHandlers = {
    ...mailJobs,
    ...createFileJobHandlers({ database, storage: fileStorage.storage }),
    ...(config.jobs.testHandlers && testJobHandlers),
  };
  const jobs = createJobWorker({
    database,
    clock: systemClock,
    logger,
    instanceId: config.instanceId,
    handlers: jobHandlers,
    pollIntervalMs: config.jobs.pollIntervalMs,
    leaseMs: config.jobs.leaseMs,
    concurrency: config.jobs.concurrency,
    maxAttempts: config.jobs.maxAttempts,
    backoff: { minDelayMs: config.jobs.retryMinMs, maxDelayMs: config.jobs.retryMaxMs },
    onAttemptFailed: (kind) => metrics.jobAttemptsFailed.inc({ kind }),
  });
  const jobStats = sampleJobStats(database, logger);

  let stopHearingInstances = (): void => {};

  logger.info("dependencies ready", {
    database: config.database.kind,
    redis: config.redis ? "redis" : "in-process",
  });

  metrics.observe("parley_bus_up", "1 while the bus (Redis pub/sub or in-process) is connected", () => (busStatus === "up" ? 1 : 0));
  metrics.observe("parley_bus_channels", "Bus channels (Redis subscriptions) this instance holds", () => bus.subscribedTopics().length);
  metrics.observe("parley_rate_limiter_local", "1 while rate limits are decided per instance (Redis unreachable)", () =>
    rateLimiter.stats().mode === "local" ? 1 : 0,
  );
  metrics.observe("parley_jobs_queued", "Outbox jobs waiting (due or not), in the whole database", () => jobStats.latest().queued);
  metrics.observe("parley_jobs_running", "Outbox jobs claimed by some instance, in the whole database", () => jobStats.latest().running);
  metrics.observe("parley_jobs_dead", "Outbox jobs that used up their attempts (an operator may retry them)", () => jobStats.latest().dead);
  metrics.observe("parley_jobs_oldest_due_seconds", "How long the oldest due queued outbox job has waited", () => jobStats.latest().oldestDueSeconds);
  metrics.observe("parley_jobs_active", "Outbox handlers running on this instance", () => jobs.active());
  metrics.observe("parley_presence_store_up", "1 while the presence heartbeat reaches its store", () => (services.presence.healthy() ? 1 : 0));

  const deps: Deps = {
    config,
    logger,
    metrics,
    database,
    bus,
    kv,
    rateLimiter,
    recentEvents,
    fileStorage,
    services,
    jobs,
    mailer,
    mailJobs,
    busStatus: () => busStatus,
    async close() {
      // While the database is still there: claims not finished by now go back to the queue for another instance.
      await jobs.drain(0).catch((error: unknown) => logger.warn("could not give unfinished jobs back", { error }));
      jobStats.stop();
      // First, while Redis is still there: stop the presence heartbeat and release this instance's connections.
      await services.presence.stop();
      stopHearingInstances();
      await bus.close().catch((error: unknown) => logger.warn("bus did not close cleanly", { error }));
      await kv.close();
      await rateLimiter.close();
      await recentEvents.close();
      if (redis) await redis.quit().catch(() => redis?.disconnect());
      await mailer.close();
      await database.close();
    },
  };
  try {
    // Every instance hears every revoked session, so its session cache never outlives a logout elsewhere.
    stopHearingInstances = await bus.subscribe(instancesTopic(), (raw) => {
      const event = readControlEvent(raw);
      if (event?.type === "session.revoked") services.auth.sessionRevokedElsewhere(event.sessionId);
      else logger.warn("dropped an unknown control event from the bus");
    });
    await services.presence.start(); // the lease exists before the first socket is recorded under it
    jobs.start();
    jobStats.start();
  } catch (error) {
    await deps.close();
    throw error;
  }
  return deps;
}

async function openFileStorage(config: Config, jwtSecret: string): Promise<Deps["fileStorage"]> {
  const settings = config.files.storage;
  if (settings.kind === "s3") {
    const storage = createS3Storage(settings);
    return { storage, local: null, browserOrigin: await storage.browserOrigin() };
  }
  // Its own key, derived: a leaked download URL says nothing about the token signing key.
  const secret = createHmac("sha256", jwtSecret).update("parley local file storage").digest("base64url");
  const local = createLocalStorage({ root: settings.root, publicUrl: config.publicUrl, secret });
  return { storage: local, local, browserOrigin: null };
}

/**
 * The queue's counts for /metrics, read every few seconds rather than at scrape time: a scrape must answer even while
 * the database does not. Until the first read (or after a failed one) the last known counts stand.
 */
function sampleJobStats(database: Database, logger: Logger): { latest(): JobStats; start(): void; stop(): void } {
  let latest: JobStats = { queued: 0, running: 0, dead: 0, oldestDueSeconds: 0 };
  let timer: ReturnType<typeof setInterval> | null = null;
  const read = (): void => {
    readJobStats(database.db, systemClock.now()).then(
      (stats) => void (latest = stats),
      (error: unknown) => logger.debug("could not read the job queue's counts", { error }),
    );
  };
  return {
    latest: () => latest,
    start() {
      read();
      timer = setInterval(read, JOB_STATS_INTERVAL_MS);
      (timer as { unref?: () => void }).unref?.(); // sampling must not keep a stopping process alive
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

const JOB_STATS_INTERVAL_MS = 5000;

function openDatabase(config: Config, runtime: string, logger: Logger): Promise<Database> {
  const db = config.database;
  switch (db.kind) {
    case "postgres":
      return createPostgresDatabase({ url: db.url, poolSize: db.poolSize });
    case "pglite":
      if (config.env === "production") {
        logger.warn("production on the embedded database (DATABASE_URL=embedded): one process, data on this machine's disk only", {
          dataDir: db.dataDir,
        });
      }
      return createPgliteDatabase({
        dataDir: db.dataDir,
        runtime,
        // Its holder died without closing (kill -9, a crash): the operator should hear about that exit.
        onStaleLock: (stale) => logger.warn("took over the embedded database's lock from a process that is gone", { stale }),
      });
    case "pglite-memory":
      return createPgliteDatabase({ dataDir: null });
  }
}

/**
 * The configured secret, or (never in production: config refuses to parse without one) a development key
 * generated once and kept in the data dir, so tokens survive restarts and instances on one machine agree.
 */
function resolveJwtSecret(config: Config, logger: Logger): string {
  if (config.auth.jwtSecret) return config.auth.jwtSecret;
  const path = join(config.dataDir, "jwt-secret");
  mkdirSync(config.dataDir, { recursive: true });
  try {
    const generated = Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");
    writeFileSync(path, generated, { flag: "wx", mode: 0o600 }); // wx: two instances starting together keep one key
    logger.warn("GENERATED A DEVELOPMENT SIGNING KEY — set JWT_SECRET before going to production", { path });
  } catch (error) {
    if (!(error instanceof Error && "code" in error && error.code === "EEXIST")) throw error;
    logger.warn("using the development signing key from the data dir — set JWT_SECRET in production", { path });
  }
  return readFileSync(path, "utf8").trim();
}

/** A control event as this code publishes it (realtime/event-publisher.ts); anything else is null. */
function readControlEvent(raw: string): ControlEvent | null {
  try {
    const event = JSON.parse(raw) as Partial<ControlEvent> | null;
    return event?.type === "session.revoked" && typeof event.sessionId === "string" ? { type: event.type, sessionId: event.sessionId } : null;
  } catch {
    return null;
  }
}
