/**
 * Who is connected, aggregated over every device and every instance, with exactly-once transitions.
 *
 * The model (the same in every implementation):
 * - A user is *present* (status `online` or `away`) from their first connection until an offline grace has
 *   passed with no connection at all. Present ⇔ the user has a state record; the state record is created by the
 *   connect that finds none (→ `"online"`) and deleted by the settle that finds the grace over (→ `WentOffline`).
 *   Each of those steps is atomic, so each transition is reported to exactly one caller, however many devices
 *   connect and drop concurrently on however many instances.
 * - The last disconnect does not end presence: it starts the grace (a due time in the store, not a timer in
 *   a process), so a reconnect within it (a network blip, a deploy drain) produces no transition at all, and a
 *   grace started by an instance that then dies is still settled by any other instance.
 * - Every connection is recorded under the instance holding it. An instance holds a lease it renews; an
 *   instance whose lease expired is claimed by exactly one sweeper, which releases its connections.
 * - Times (leases, due times, last seen) come from the store's clock (Redis TIME), so instances with skewed
 *   clocks agree.
 */
export type LiveStatus = "online" | "away";

export interface ConnectionRecord {
  userId: string;
  connectionId: string;
  /** The lease name of the instance holding the socket. */
  instance: string;
}

/**
 * `online`: this connect made the user present (report it). `unchanged`: they already were (another device,
 * or a reconnect within the grace). `lease-lost`: the instance's lease is not held (expired or swept): nothing
 * was recorded; renew the lease (re-recording this instance's connections) and retry.
 */
export type ConnectOutcome = "online" | "unchanged" | "lease-lost";

/** `last`: the user has no connection left anywhere; their grace started. `unknown`: not recorded (swept). */
export type DisconnectOutcome = "last" | "others-remain" | "unknown";

export interface WentOffline {
  userId: string;
  /** When their last connection ended (for a swept instance: when it was declared dead). */
  lastSeenAt: Date;
}

/** `renewed`: still held. `lost`: it expired and was swept (or never existed): open a new one. */
export type LeaseOutcome = "renewed" | "lost";

export interface PresenceStore {
  /** Registers (or re-registers) an instance's lease for `ttlMs`. */
  openLease(instance: string, ttlMs: number): Promise<void>;
  /** Extends a lease that is still held; never resurrects a swept one. */
  renewLease(instance: string, ttlMs: number): Promise<LeaseOutcome>;
  connect(connection: ConnectionRecord): Promise<ConnectOutcome>;
  /** Forgets a connection; when it was the user's last, their offline grace of `graceMs` starts. */
  disconnect(connection: { userId: string; connectionId: string }, graceMs: number): Promise<DisconnectOutcome>;
  /**
   * Ends the presence of users whose grace is over and who have not reconnected: the listed users, or every
   * due user (at most `limit`). Each offline transition is returned by exactly one call.
   */
  settle(target: { userIds: string[] } | { due: true; limit: number }): Promise<WentOffline[]>;
  /** The user's chosen status while present. `offline`: not present; nothing changed. */
  setStatus(userId: string, status: LiveStatus): Promise<"changed" | "unchanged" | "offline">;
  /** Live statuses of the present users among `userIds`; absent users are offline. */
  statuses(userIds: readonly string[]): Promise<Map<string, LiveStatus>>;
  /**
   * Claims instances whose lease expired (and sweeps abandoned by a sweeper that died) for `claimMs`: each
   * is returned to one caller at a time. The caller then releases their connections.
   */
  claimExpired(claimMs: number, limit: number): Promise<string[]>;
  /**
   * Drops up to `batch` connections of the instance; users left with none start a grace of `graceMs` (0 for a
   * dead instance: its lease time was their grace). Once none are left the lease (or claim) is removed.
   */
  releaseInstance(instance: string, options: { graceMs: number; batch: number }): Promise<"done" | "more">;
  close(): Promise<void>;
}
