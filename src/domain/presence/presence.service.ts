import type { BucketRule } from "../../config.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher, PresenceStatus } from "../events.ts";
import type { RoomService } from "../rooms/rooms.service.ts";

export interface PresenceService {
  /** A socket of the user opened. The user's first socket makes them `online` to everyone sharing a room. */
  connected(userId: string, connectionId: string): Promise<void>;
  /** A socket closed. The user's last socket makes them `offline`, with `lastSeenAt` = now. */
  disconnected(userId: string, connectionId: string): Promise<void>;
  /** Whether the user has a live socket (on this instance). */
  statusOf(userId: string): PresenceStatus;
  /**
   * Broadcasts a typing indicator to the room. Ephemeral: never stored. TOO_MANY_REQUESTS past the per-user rate.
   * The caller has checked membership (the realtime layer only accepts typing for rooms the socket is attached to).
   */
  typing(userId: string, roomId: string, active: boolean): Promise<void>;
}

export interface PresenceServiceDeps {
  rooms: RoomService;
  events: EventPublisher;
  rateLimiter: RateLimiter;
  clock: Clock;
  logger: Logger;
  typingRate: BucketRule;
}

/**
 * Presence as seen by this instance: a user is online while any of their sockets here is open.
 * Cross-instance aggregation (leases in Redis) replaces the in-process map without changing this interface.
 */
export function createPresenceService(deps: PresenceServiceDeps): PresenceService {
  const connections = new Map<string, Set<string>>();

  async function announce(userId: string, status: PresenceStatus): Promise<void> {
    const lastSeenAt = status === "offline" ? deps.clock.now().toISOString() : null;
    const roomIds = await deps.rooms.roomIdsOf(userId);
    const results = await Promise.allSettled(
      roomIds.map((roomId) => deps.events.toRoom(roomId, { type: "presence", roomId, userId, status, lastSeenAt })),
    );
    const failed = results.filter((result) => result.status === "rejected").length;
    if (failed > 0) deps.logger.warn("presence not announced to every room", { userId, status, failed, rooms: roomIds.length });
  }

  return {
    async connected(userId, connectionId) {
      let set = connections.get(userId);
      if (!set) connections.set(userId, (set = new Set()));
      const first = set.size === 0;
      set.add(connectionId);
      if (first) await announce(userId, "online");
    },
    async disconnected(userId, connectionId) {
      const set = connections.get(userId);
      if (!set || !set.delete(connectionId)) return;
      if (set.size > 0) return;
      connections.delete(userId);
      await announce(userId, "offline");
    },
    statusOf: (userId) => (connections.has(userId) ? "online" : "offline"),
    async typing(userId, roomId, active) {
      const decision = await deps.rateLimiter.consume(`typing:${userId}`, deps.typingRate);
      if (!decision.allowed) {
        throw new DomainError("TOO_MANY_REQUESTS", "typing too often", decision.retryAfterSeconds);
      }
      await deps.events.toRoom(roomId, { type: "typing", roomId, userId, active });
    },
  };
}
