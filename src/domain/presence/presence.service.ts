import { eq } from "drizzle-orm";
import type { BucketRule } from "../../config.ts";
import type { Database } from "../../infra/db/database.ts";
import { users } from "../../infra/db/schema.ts";
import type { LiveStatus, PresenceStore, WentOffline } from "../../infra/presence/presence-store.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import { mapConcurrently } from "../../lib/concurrency.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher, PresenceStatus } from "../events.ts";
import { requireNotMuted } from "../rooms/room-bans.ts";
import type { RoomService } from "../rooms/rooms.service.ts";
import { createInstanceLease } from "./instance-lease.ts";
import { visibleUsers } from "./presence-audience.ts";
import type { PresenceView } from "./presence.schema.ts";
import { createTypingTimers } from "./typing-timers.ts";

export interface PresenceService {
  /** A socket of the user is open here (after `ready`). The user's first socket anywhere makes them `online`. */
  connected(userId: string, connectionId: string): Promise<void>;
  /** The socket closed. When no socket of the user is left anywhere for the offline grace, they go `offline`. */
  disconnected(userId: string, connectionId: string): Promise<void>;
  /** The user's own `away`/`online` while connected; announced like any transition. */
  set(userId: string, status: LiveStatus): Promise<PresenceView>;
  /** Presence of the listed users who share a room with the caller (and the caller); the others are omitted. */
  get(callerId: string, userIds: readonly string[]): Promise<PresenceView[]>;
  /**
   * Broadcasts a typing indicator to the room; `active: true` expires on its own unless refreshed. Ephemeral:
   * never stored. TOO_MANY_REQUESTS past the per-user rate; FORBIDDEN reason MUTED for `active` from a muted member.
   * The caller has checked membership.
   */
  typing(userId: string, roomId: string, active: boolean, connectionId: string): Promise<void>;
  /** False while the presence store cannot be reached (the heartbeat is failing). */
  healthy(): boolean;
  /** Opens this instance's lease and starts the heartbeat and sweeps. */
  start(): Promise<void>;
  /** Stops every timer and releases this instance's connections (after the socket drain). */
  stop(): Promise<void>;
}

export interface PresenceTiming {
  /** Lease time: a dead instance's users go offline within about 4/3 of it. */
  leaseMs: number;
  /** How long a user with no socket left stays present, so a reconnect within it is no transition at all. */
  offlineGraceMs: number;
  /** An unrefreshed `typing: true` turns into `typing: false` after this long. */
  typingTimeoutMs: number;
}

export interface PresenceServiceDeps {
  database: Database;
  rooms: RoomService;
  events: EventPublisher;
  rateLimiter: RateLimiter;
  store: PresenceStore;
  logger: Logger;
  typingRate: BucketRule;
  /** Whether a mute is still in force. */
  clock: Clock;
  instanceId: string;
  timing: PresenceTiming;
  /**
   * Rooms with more members hear no presence events: each transition would reach every member, and a reconnect
   * storm would cost members² frames. Their members ask `presence.get` for the people they show.
   */
  eventsMaxMembers: number;
}

/** Local grace timers fire this much after the store's due time, so they never find the grace still running. */
const GRACE_SLACK_MS = 25;
const SETTLE_BATCH = 500;
const ANNOUNCE_CONCURRENCY = 16;

/**
 * Presence per user over every device and instance. This instance keeps its own sockets in `local` and keeps
 * the store in line with it (one write at a time per socket; failed writes are retried every heartbeat); the
 * store decides the transitions, exactly once, and whoever is told of one announces it to the user's rooms —
 * so exactly the people sharing a room hear it — and persists `last_seen_at` on the offline one.
 */
export function createPresenceService(deps: PresenceServiceDeps): PresenceService {
  const { store, logger, timing } = deps;
  const { db } = deps.database;
  /** userId → this instance's open sockets of the user: the truth the store is kept in line with. */
  const local = new Map<string, Set<string>>();
  /** connectionId → its latest store write, so a close's write never overtakes its open's. */
  const chains = new Map<string, Promise<void>>();
  /** connectionId → userId of sockets whose last store write failed (Redis unreachable); each beat retries. */
  const unsynced = new Map<string, string>();
  /** userId → a timer to settle them when the grace their last close started here is over. */
  const graceTimers = new Map<string, ReturnType<typeof setTimeout>>();
  let stopped = false;

  const lease = createInstanceLease({
    store,
    instanceId: deps.instanceId,
    leaseMs: timing.leaseMs,
    logger,
    onReopened: () => syncAll([...local].flatMap(([userId, sockets]) => [...sockets].map((id): [string, string] => [id, userId]))),
    afterBeat: async () => {
      await syncAll([...unsynced]);
      // Graces that ran out with no local timer to notice: their instance stopped or died meanwhile.
      let settled = SETTLE_BATCH;
      while (settled === SETTLE_BATCH) settled = await settle({ due: true, limit: SETTLE_BATCH });
    },
  });
  const typingTimers = createTypingTimers({
    timeoutMs: timing.typingTimeoutMs,
    expire: (roomId, userId) => {
      deps.events
        .toRoom(roomId, { type: "typing", roomId, userId, active: false })
        .catch((error: unknown) => logger.warn("typing expiry not announced", { roomId, userId, error }));
    },
  });

  /** Brings the store in line with whether this socket is open here. */
  async function sync(userId: string, connectionId: string): Promise<void> {
    if (local.get(userId)?.has(connectionId)) {
      const record = (): ReturnType<PresenceStore["connect"]> => store.connect({ userId, connectionId, instance: lease.current() });
      let outcome = await record();
      if (outcome === "lease-lost") {
        await lease.recover();
        outcome = await record();
      }
      if (outcome === "lease-lost") throw new Error("the presence lease could not be renewed");
      if (outcome === "online") await announce(userId, "online", null);
    } else if ((await store.disconnect({ userId, connectionId }, timing.offlineGraceMs)) === "last") {
      armGrace(userId);
    }
  }

  function queueSync(userId: string, connectionId: string): Promise<void> {
    const next = (chains.get(connectionId) ?? Promise.resolve()).then(() => sync(userId, connectionId)).then(
      () => void unsynced.delete(connectionId),
      (error: unknown) => {
        unsynced.set(connectionId, userId);
        logger.warn("presence store not updated; retrying on the next heartbeat", { userId, connectionId, error });
      },
    );
    chains.set(connectionId, next);
    void next.then(() => chains.get(connectionId) === next && chains.delete(connectionId));
    return next;
  }

  async function syncAll(sockets: [connectionId: string, userId: string][]): Promise<void> {
    await mapConcurrently(sockets, ANNOUNCE_CONCURRENCY, ([connectionId, userId]) => queueSync(userId, connectionId));
  }

  function armGrace(userId: string): void {
    clearTimeout(graceTimers.get(userId));
    const timer = setTimeout(() => {
      graceTimers.delete(userId);
      void settle({ userIds: [userId] });
    }, timing.offlineGraceMs + GRACE_SLACK_MS);
    timer.unref?.(); // a grace must not keep a stopping process alive: other instances' heartbeats settle it
    graceTimers.set(userId, timer);
  }

  /** Settles in the store and announces what went offline; returns how many did. Never rejects. */
  async function settle(target: Parameters<PresenceStore["settle"]>[0]): Promise<number> {
    let offline: WentOffline[];
    try {
      offline = await store.settle(target);
    } catch (error) {
      logger.warn("presence not settled; the next heartbeat retries", { error });
      return 0;
    }
    await mapConcurrently(offline, ANNOUNCE_CONCURRENCY, async ({ userId, lastSeenAt }) => {
      await db
        .update(users)
        .set({ lastSeenAt })
        .where(eq(users.id, userId))
        .catch((error: unknown) => logger.error("last seen not persisted", { userId, error }));
      await announce(userId, "offline", lastSeenAt.toISOString());
    });
    return offline.length;
  }

  /** Publishes a transition to each of the user's rooms. Never rejects: presence is soft state. */
  async function announce(userId: string, status: PresenceStatus, lastSeenAt: string | null): Promise<void> {
    try {
      const roomIds = await deps.rooms.roomIdsOf(userId, { atMostMembers: deps.eventsMaxMembers });
      if (roomIds.length === 0) return;
      // Another instance may have decided a newer transition while the rooms were read; publishing this one now
      // could overtake that one's event on the bus and leave watchers with the older state.
      const current = (await store.statuses([userId])).get(userId) ?? "offline";
      if (current !== status) return logger.debug("skipped a superseded presence event", { userId, status, current });
      const results = await Promise.allSettled(
        roomIds.map((roomId) => deps.events.toRoom(roomId, { type: "presence", roomId, userId, status, lastSeenAt })),
      );
      const failed = results.filter((result) => result.status === "rejected").length;
      if (failed > 0) logger.warn("presence not announced to every room", { userId, status, failed, rooms: roomIds.length });
    } catch (error) {
      logger.warn("presence not announced", { userId, status, error });
    }
  }

  function unavailable(error: unknown): never {
    logger.warn("presence store unreachable", { error });
    throw new DomainError("UNAVAILABLE", "presence is unavailable; try again shortly");
  }

  const service: PresenceService = {
    async connected(userId, connectionId) {
      if (stopped) return;
      let sockets = local.get(userId);
      if (!sockets) local.set(userId, (sockets = new Set()));
      sockets.add(connectionId);
      await queueSync(userId, connectionId);
    },
    async disconnected(userId, connectionId) {
      const sockets = local.get(userId);
      if (stopped || !sockets?.delete(connectionId)) return;
      if (sockets.size === 0) local.delete(userId);
      typingTimers.connectionClosed(userId, connectionId);
      await queueSync(userId, connectionId);
    },
    async set(userId, status) {
      if ((await store.setStatus(userId, status).catch(unavailable)) === "changed") await announce(userId, status, null);
      const [view] = await service.get(userId, [userId]);
      if (!view) throw new DomainError("NOT_FOUND", "no such user");
      return view;
    },
    async get(callerId, userIds) {
      const wanted = [...new Set(userIds)];
      const seen = await visibleUsers(db, callerId, wanted);
      const ids = wanted.filter((id) => seen.has(id));
      const live = await store.statuses(ids).catch(unavailable);
      return ids.map((userId) => {
        const status = live.get(userId);
        return status ? { userId, status, lastSeenAt: null } : { userId, status: "offline", lastSeenAt: seen.get(userId)?.toISOString() ?? null };
      });
    },
    async typing(userId, roomId, active, connectionId) {
      const decision = await deps.rateLimiter.consume(`typing:${userId}`, deps.typingRate);
      if (!decision.allowed) {
        throw new DomainError("TOO_MANY_REQUESTS", "typing too often", decision.retryAfterSeconds);
      }
      // A muted member may read, not type; stopping is always allowed (it only clears an indicator).
      if (active) await requireNotMuted(deps.database.db, roomId, userId, deps.clock.now());
      if (active) typingTimers.started(roomId, userId, connectionId);
      else typingTimers.stopped(roomId, userId);
      await deps.events.toRoom(roomId, { type: "typing", roomId, userId, active });
    },
    healthy: () => lease.healthy(),
    start: () => lease.start(),
    async stop() {
      if (stopped) return;
      stopped = true;
      typingTimers.clear();
      for (const timer of graceTimers.values()) clearTimeout(timer);
      graceTimers.clear();
      await Promise.allSettled([...chains.values()]);
      local.clear();
      // Sockets the drain closed have dropped their own records; this releases any left (with the grace, since
      // their clients are reconnecting elsewhere). If the store is unreachable, the lease expires and is swept.
      await lease.stop(timing.offlineGraceMs).catch((error: unknown) => logger.warn("presence lease not released", { error }));
    },
  };
  return service;
}
