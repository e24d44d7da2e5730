import type { Clock } from "../../lib/clock.ts";
import type { LiveStatus, PresenceStore, WentOffline } from "./presence-store.ts";

interface UserState {
  status: LiveStatus;
  /** Set when the last connection ended (ms). */
  seenAt: number | null;
}

/**
 * The presence store in one process's memory: the embedded default (one instance) and tests. Every method
 * runs without an await inside, so each is atomic on the event loop, which is what the Redis scripts give
 * across instances. Several "instances" may share one store (tests do) and then behave as on Redis.
 */
export function createMemoryPresenceStore(options: { clock: Clock }): PresenceStore {
  const now = (): number => options.clock.now().getTime();
  /** userId → connectionId → instance */
  const connections = new Map<string, Map<string, string>>();
  /** instance → connectionId → userId */
  const byInstance = new Map<string, Map<string, string>>();
  const states = new Map<string, UserState>();
  /** userId → when their grace ends */
  const pending = new Map<string, number>();
  /** instance → lease expiry; and instances being swept → claim expiry */
  const leases = new Map<string, number>();
  const sweeping = new Map<string, number>();

  function startGrace(userId: string, at: number, graceMs: number): void {
    const state = states.get(userId);
    if (!state) return;
    state.seenAt = at;
    pending.set(userId, at + graceMs);
  }

  function settleOne(userId: string, at: number): WentOffline | null {
    const due = pending.get(userId);
    if (due === undefined || due > at) return null;
    pending.delete(userId);
    const state = states.get(userId);
    if (connections.has(userId) || !state) return null;
    states.delete(userId);
    return { userId, lastSeenAt: new Date(state.seenAt ?? at) };
  }

  return {
    async openLease(instance, ttlMs) {
      leases.set(instance, now() + ttlMs);
    },
    async renewLease(instance, ttlMs) {
      if (!leases.has(instance)) return "lost";
      leases.set(instance, now() + ttlMs);
      return "renewed";
    },
    async connect({ userId, connectionId, instance }) {
      const lease = leases.get(instance);
      if (lease === undefined || lease < now()) return "lease-lost";
      let mine = connections.get(userId);
      if (!mine) connections.set(userId, (mine = new Map()));
      mine.set(connectionId, instance);
      let held = byInstance.get(instance);
      if (!held) byInstance.set(instance, (held = new Map()));
      held.set(connectionId, userId);
      pending.delete(userId);
      if (states.has(userId)) return "unchanged";
      states.set(userId, { status: "online", seenAt: null });
      return "online";
    },
    async disconnect({ userId, connectionId }, graceMs) {
      const mine = connections.get(userId);
      const instance = mine?.get(connectionId);
      if (!mine || instance === undefined) return "unknown";
      mine.delete(connectionId);
      byInstance.get(instance)?.delete(connectionId);
      if (mine.size > 0) return "others-remain";
      connections.delete(userId);
      startGrace(userId, now(), graceMs);
      return "last";
    },
    async settle(target) {
      const at = now();
      const candidates =
        "userIds" in target
          ? target.userIds
          : [...pending].filter(([, due]) => due <= at).slice(0, target.limit).map(([userId]) => userId);
      return candidates.flatMap((userId) => settleOne(userId, at) ?? []);
    },
    async setStatus(userId, status) {
      const state = states.get(userId);
      if (!state) return "offline";
      if (state.status === status) return "unchanged";
      state.status = status;
      return "changed";
    },
    async statuses(userIds) {
      const found = new Map<string, LiveStatus>();
      for (const userId of userIds) {
        const state = states.get(userId);
        if (state) found.set(userId, state.status);
      }
      return found;
    },
    async claimExpired(claimMs, limit) {
      const at = now();
      const claimed: string[] = [];
      for (const [instance, expiry] of [...leases, ...sweeping]) {
        if (claimed.length >= limit) break;
        if (expiry > at) continue;
        leases.delete(instance);
        sweeping.set(instance, at + claimMs);
        claimed.push(instance);
      }
      return claimed;
    },
    async releaseInstance(instance, { graceMs, batch }) {
      const at = now();
      const held = byInstance.get(instance) ?? new Map<string, string>();
      for (const [connectionId, userId] of [...held].slice(0, batch)) {
        held.delete(connectionId);
        const mine = connections.get(userId);
        // The connection may have been re-recorded under the instance's next lease since: leave it there.
        if (mine?.get(connectionId) !== instance) continue;
        mine.delete(connectionId);
        if (mine.size > 0) continue;
        connections.delete(userId);
        startGrace(userId, at, graceMs);
      }
      if (held.size > 0) return "more";
      byInstance.delete(instance);
      sweeping.delete(instance);
      leases.delete(instance);
      return "done";
    },
    async close() {},
  };
}
