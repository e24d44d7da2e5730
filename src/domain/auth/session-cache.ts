import type { Clock } from "../../lib/clock.ts";

/**
 * Live sessions this instance looked up recently, so a burst of calls — a reconnect storm, where every client mints
 * a ticket and redeems it moments later — does not cost a database read each. Correct only together with the
 * revocation broadcast: every instance forgets a session the moment any instance revokes it (`forget`, driven by
 * the bus), and while the bus is down the cache is not trusted at all (`trust(false)` empties it and bypasses it),
 * since revocations could be missed. An entry also lapses after `ttlMs` and with its session's own expiry.
 */
export interface SessionCache {
  /** The cached session, or undefined (a miss: ask the database). */
  get(sessionId: string): { userId: string } | undefined;
  /**
   * Caches a lookup that started at `revocationsAtStart` (see `revocations()`): if any revocation arrived since, the
   * answer may predate it, and it is dropped.
   */
  remember(sessionId: string, session: { userId: string; expiresAt: Date }, revocationsAtStart: number): void;
  forget(sessionId: string): void;
  /** How many revocations this cache has seen; taken before a database read, handed back to `remember`. */
  revocations(): number;
  trust(trusted: boolean): void;
}

export function createSessionCache(options: { clock: Clock; ttlMs: number; maxEntries: number }): SessionCache {
  const entries = new Map<string, { userId: string; until: number }>();
  let revocations = 0;
  let trusted = true;
  const now = (): number => options.clock.now().getTime();
  return {
    get(sessionId) {
      if (!trusted) return undefined;
      const entry = entries.get(sessionId);
      if (!entry) return undefined;
      if (entry.until <= now()) {
        entries.delete(sessionId);
        return undefined;
      }
      return { userId: entry.userId };
    },
    remember(sessionId, session, revocationsAtStart) {
      if (!trusted || revocationsAtStart !== revocations) return;
      entries.delete(sessionId); // re-inserted last: Map order is age order, the oldest go first past the cap
      entries.set(sessionId, { userId: session.userId, until: Math.min(now() + options.ttlMs, session.expiresAt.getTime()) });
      if (entries.size > options.maxEntries) entries.delete(entries.keys().next().value as string);
    },
    forget(sessionId) {
      revocations += 1;
      entries.delete(sessionId);
    },
    revocations: () => revocations,
    trust(next) {
      trusted = next;
      revocations += 1; // a lookup that straddled the change is not cached
      entries.clear();
    },
  };
}
