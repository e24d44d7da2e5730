import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BucketRule, DEFAULT_FILE_TYPES, type RateLimits } from "../../src/config.ts";
import type { DomainEvent } from "../../src/domain/events.ts";
import type { PresenceTiming } from "../../src/domain/presence/presence.service.ts";
import { createServices, type ServiceDeps, type Services } from "../../src/domain/services.ts";
import type { EventBus } from "../../src/infra/bus/bus.ts";
import { createMemoryBus } from "../../src/infra/bus/memory.ts";
import type { Database } from "../../src/infra/db/database.ts";
import type { KeyValueStore } from "../../src/infra/kv/kv.ts";
import { createMemoryKeyValueStore } from "../../src/infra/kv/memory.ts";
import { createMemoryPresenceStore } from "../../src/infra/presence/memory.ts";
import type { PresenceStore } from "../../src/infra/presence/presence-store.ts";
import type { RateLimiter } from "../../src/infra/rate-limit/rate-limit.ts";
import { createMemoryRateLimiter } from "../../src/infra/rate-limit/memory.ts";
import { createMemoryRecentEvents } from "../../src/infra/recent-events/memory.ts";
import type { RecentEvents } from "../../src/infra/recent-events/recent-events.ts";
import { createLocalStorage } from "../../src/infra/storage/local.ts";
import type { FileStorage } from "../../src/infra/storage/storage.ts";
import { type Clock, systemClock } from "../../src/lib/clock.ts";
import { createLogger, type Logger } from "../../src/lib/logger.ts";
import { createMetrics, type Metrics } from "../../src/lib/metrics.ts";
import { createBusEventPublisher } from "../../src/realtime/event-publisher.ts";
import { roomTopic, userTopic } from "../../src/realtime/topics.ts";
import { createTestDatabase, type DatabaseKind } from "./databases.ts";

/** A clock tests move by hand; starts at the real time so tokens and TTLs look ordinary. */
export interface TestClock extends Clock {
  advance(ms: number): void;
}

export function createTestClock(start: Date = new Date()): TestClock {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance: (ms) => {
      now += ms;
    },
  };
}

/** Generous enough that only tests about rate limits ever hit them. */
const GENEROUS: BucketRule = { capacity: 10_000, periodSeconds: 1 };
export const TEST_RATE_LIMITS: RateLimits = {
  authPerIp: GENEROUS,
  authPerAccountIp: GENEROUS,
  authPerAccount: GENEROUS,
  sendPerUser: GENEROUS,
  typingPerUser: GENEROUS,
  changePerUser: GENEROUS,
  searchPerUser: GENEROUS,
  callsPerUser: GENEROUS,
  callsPerIp: GENEROUS,
  roomCreatePerUser: GENEROUS,
  invitePerUser: GENEROUS,
  openDirectPerUser: GENEROUS,
  joinByLinkPerUser: GENEROUS,
  friendRequestPerUser: GENEROUS,
  blockPerUser: GENEROUS,
  roleChangesPerUser: GENEROUS,
  moderationPerUser: GENEROUS,
  reportPerUser: GENEROUS,
  wsTicketPerUser: GENEROUS,
  uploadPerUser: GENEROUS,
  emailPerUser: GENEROUS,
  passwordResetPerEmail: GENEROUS,
};

/** The production defaults: specs about caps pass smaller ones. */
export const TEST_LIMITS = { roomMaxMembers: 10_000, userMaxRooms: 5_000 };

export const TEST_JWT = {
  secret: "test-secret-test-secret-test-secret-0123456789",
  issuer: "parley",
  audience: "parley-api",
  accessTokenTtlSeconds: 900,
};

export interface TestDeps {
  database: Database;
  bus: EventBus;
  kv: KeyValueStore;
  rateLimiter: RateLimiter;
  recentEvents: RecentEvents;
  presenceStore: PresenceStore;
  clock: TestClock;
  logger: Logger;
  metrics: Metrics;
  services: Services;
  /** Records every event published to the given room or user topics, in order. */
  recordEvents(target: { roomId: string } | { userId: string }): Promise<DomainEvent[]>;
  close(): Promise<void>;
}

export interface TestDepsOptions {
  /** A database of the test's own (e.g. one it upgraded from older migrations) instead of a fresh one. */
  database?: { database: Database; drop(): Promise<void> };
  rateLimits?: Partial<typeof TEST_RATE_LIMITS>;
  /** Defaults to the memory KV; pass another implementation to run a domain suite on it. */
  kv?: KeyValueStore;
  /** Defaults to the memory cache; pass the Redis one to run a suite on it. */
  recentEvents?: RecentEvents;
  refreshTokenTtlSeconds?: number;
  receiptEventsMaxMembers?: number;
  /** REQUIRE_VERIFIED_EMAIL (default false). */
  requireVerifiedEmail?: boolean;
  /** MESSAGE_EDIT_WINDOW_SECONDS (default 0: no window). */
  messageEditWindowSeconds?: number;
  limits?: Partial<typeof TEST_LIMITS>;
  /** Presence timings (short by default); pass a store to share one between several "instances". */
  presence?: { store?: PresenceStore; instanceId?: string; timing?: Partial<PresenceTiming>; eventsMaxMembers?: number };
  /** Where uploads go; by default local disk in a temporary directory, with no server behind its URLs. */
  files?: { storage?: FileStorage; settings?: Partial<TestFileSettings> };
}

type TestFileSettings = ServiceDeps["files"]["settings"];
export const TEST_FILE_SETTINGS: TestFileSettings = { allowedTypes: DEFAULT_FILE_TYPES, maxBytes: 25 * 1024 * 1024, userQuotaBytes: 1024 ** 3 };

/** A short grace so specs about going offline need not wait; a long lease that never expires during a test. */
export const TEST_PRESENCE_TIMING: PresenceTiming = { leaseMs: 60_000, offlineGraceMs: 50, typingTimeoutMs: 6000 };

/**
 * The real services on a fresh database of the given kind, with the in-process bus, KV and rate limiter.
 * Nothing is mocked: events really go through the bus, rows really commit.
 */
export async function createTestDeps(kind: DatabaseKind, options: TestDepsOptions = {}): Promise<TestDeps> {
  const { database, drop } = options.database ?? (await createTestDatabase(kind));
  const clock = createTestClock();
  const bus = createMemoryBus();
  const kv = options.kv ?? createMemoryKeyValueStore({ clock });
  const rateLimiter = createMemoryRateLimiter({ clock });
  const recentEvents = options.recentEvents ?? createMemoryRecentEvents({ clock });
  // Real time: grace and lease timers are real timers, which a hand-moved clock would never let expire.
  const presenceStore = options.presence?.store ?? createMemoryPresenceStore({ clock: systemClock });
  const logger = createLogger({ level: "silent" });
  const metrics = createMetrics();
  const services = createServices({
    database,
    kv,
    rateLimiter,
    recentEvents,
    events: createBusEventPublisher(bus),
    clock,
    logger,
    jwt: TEST_JWT,
    refreshTokenTtlSeconds: options.refreshTokenTtlSeconds ?? 30 * 86400,
    rateLimits: { ...TEST_RATE_LIMITS, ...options.rateLimits },
    limits: { ...TEST_LIMITS, ...options.limits },
    metrics,
    receiptEventsMaxMembers: options.receiptEventsMaxMembers ?? 100,
    messageEditWindowSeconds: options.messageEditWindowSeconds ?? 0,
    files: {
      storage:
        options.files?.storage ??
        createLocalStorage({ root: join(tmpdir(), `parley-test-files-${crypto.randomUUID()}`), publicUrl: "http://127.0.0.1:9", secret: TEST_JWT.secret }),
      settings: { ...TEST_FILE_SETTINGS, ...options.files?.settings },
    },
    requireVerifiedEmail: options.requireVerifiedEmail ?? false,
    presence: {
      store: presenceStore,
      instanceId: options.presence?.instanceId ?? "test",
      eventsMaxMembers: options.presence?.eventsMaxMembers ?? 100,
      timing: { ...TEST_PRESENCE_TIMING, ...options.presence?.timing },
    },
  });
  await services.presence.start();
  const unsubscribes: (() => void)[] = [];
  return {
    database,
    bus,
    kv,
    rateLimiter,
    recentEvents,
    presenceStore,
    clock,
    logger,
    metrics,
    services,
    async recordEvents(target) {
      const topic = "roomId" in target ? roomTopic(target.roomId) : userTopic(target.userId);
      const events: DomainEvent[] = [];
      unsubscribes.push(await bus.subscribe(topic, (message) => events.push(JSON.parse(message) as DomainEvent)));
      return events;
    },
    async close() {
      await services.presence.stop();
      for (const unsubscribe of unsubscribes) unsubscribe();
      await bus.close();
      await recentEvents.close();
      await drop();
    },
  };
}

/** Lets queued bus deliveries (microtasks) and follow-up timers run. */
export function settle(ms = 10): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
