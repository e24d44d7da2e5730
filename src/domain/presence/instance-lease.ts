import type { PresenceStore } from "../../infra/presence/presence-store.ts";
import type { Logger } from "../../lib/logger.ts";

/**
 * This instance's heartbeat lease in the presence store, and its share of sweeping up after dead instances.
 *
 * Every `leaseMs / 3` it renews its lease and sweeps: instances whose lease expired (kill -9, a lost machine)
 * are claimed — one sweeper per instance, by the store — and their connections released with no further grace
 * (the lease time was the grace). So a dead instance's users go offline within about `leaseMs * 4/3`, on
 * whichever instance settles them first; nothing is left behind as a ghost.
 *
 * The lease name is the instance id plus a random suffix, new for every process and every lost lease: a
 * restarted machine with the same INSTANCE_ID must not adopt its dead predecessor's connections, and an
 * instance whose lease was swept while it was alive but unreachable (a partition, a stalled event loop)
 * records its live connections again under a fresh lease instead of racing the sweeper for the old one.
 */
export interface InstanceLease {
  /** The lease connections are recorded under right now. */
  current(): string;
  /** Opens the lease and starts the heartbeat. */
  start(): Promise<void>;
  /** A connect found the lease gone: renew it, or open a new one (one recovery at a time). */
  recover(): Promise<void>;
  /** False while the heartbeat is failing (the presence store is unreachable). */
  healthy(): boolean;
  /** Stops the heartbeat, waits for a running beat, and releases this instance's connections with `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

export interface InstanceLeaseDeps {
  store: PresenceStore;
  instanceId: string;
  leaseMs: number;
  logger: Logger;
  /** A new lease was opened after the old one was lost: record every live local connection again. */
  onReopened(): Promise<void>;
  /** After each beat: settle users whose grace is over and do whatever else must be retried. */
  afterBeat(): Promise<void>;
}

/** Connections released per script call, so one dead instance with many sockets cannot block Redis for long. */
const RELEASE_BATCH = 500;
/** Dead instances claimed per beat. */
const CLAIM_LIMIT = 10;

export function createInstanceLease(deps: InstanceLeaseDeps): InstanceLease {
  const { store, logger } = deps;
  let lease = leaseName(deps.instanceId);
  let timer: ReturnType<typeof setTimeout> | null = null;
  let beating: Promise<void> = Promise.resolve();
  let recovering: Promise<void> | null = null;
  let stopped = false;
  let failing = false;

  /**
   * Renews the lease, opening a new one if it was lost. Concurrent callers share one attempt. Resolves once a
   * lease is held; re-recording the connections then runs in the background, because the caller may itself be
   * one of those connections' writes (waiting for it would wait for itself).
   */
  function recover(): Promise<void> {
    recovering ??= (async () => {
      try {
        if ((await store.renewLease(lease, deps.leaseMs)) === "renewed") return;
        const lost = lease;
        const next = leaseName(deps.instanceId);
        await store.openLease(next, deps.leaseMs);
        lease = next;
        logger.warn("presence lease was lost (expired and swept); recording this instance's connections again", { lost, lease });
        deps.onReopened().catch((error: unknown) => logger.error("connections not recorded under the new lease", { error }));
      } finally {
        recovering = null;
      }
    })();
    return recovering;
  }

  async function sweep(): Promise<void> {
    for (const dead of await store.claimExpired(deps.leaseMs, CLAIM_LIMIT)) {
      let released = 0;
      while ((await store.releaseInstance(dead, { graceMs: 0, batch: RELEASE_BATCH })) === "more") released += RELEASE_BATCH;
      logger.info("swept the connections of an instance whose lease expired", { instance: dead, atLeast: released });
    }
  }

  async function beat(): Promise<void> {
    try {
      await recover();
      await sweep();
      await deps.afterBeat();
      if (failing) logger.info("presence heartbeat restored");
      failing = false;
    } catch (error) {
      // Logged once per outage: while the store is unreachable every beat fails the same way.
      if (!failing) logger.error("presence heartbeat failed; retrying every beat", { error });
      failing = true;
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      beating = beat().finally(schedule);
    }, deps.leaseMs / 3);
    timer.unref?.(); // the heartbeat must not keep a stopping process (or a test run) alive
  }

  return {
    current: () => lease,
    healthy: () => !failing,
    async start() {
      await store.openLease(lease, deps.leaseMs);
      schedule();
    },
    recover,
    async stop(graceMs) {
      stopped = true;
      if (timer) clearTimeout(timer);
      await beating;
      let outcome: "done" | "more" = "more";
      while (outcome === "more") outcome = await store.releaseInstance(lease, { graceMs, batch: RELEASE_BATCH });
    },
  };
}

function leaseName(instanceId: string): string {
  return `${instanceId}/${crypto.randomUUID().slice(0, 8)}`;
}
