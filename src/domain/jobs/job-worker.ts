import type { Database } from "../../infra/db/database.ts";
import { type BackoffOptions, fullJitterDelay } from "../../lib/backoff.ts";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/logger.ts";
import type { JobKind, JobPayloads } from "./enqueue.ts";
import type { JobContext, JobHandlers } from "./handlers.ts";
import { claimDueJobs, type Claim, type ClaimedJob, markDone, markFailed, releaseClaims, renewClaims, requeueLapsedClaims } from "./job-store.ts";

export interface JobWorkerOptions {
  database: Database;
  clock: Clock;
  logger: Logger;
  /** Written on every claim, so a lapsed one names the instance that died. */
  instanceId: string;
  handlers: JobHandlers;
  pollIntervalMs: number;
  /** How long a claim holds without renewal; renewed every third of it while the handler runs. */
  leaseMs: number;
  /** Handlers running at once on this instance (also the most jobs one claim takes). */
  concurrency: number;
  /** A job dies after this many failed attempts (or fewer, if it was enqueued with a lower `maxAttempts`). */
  maxAttempts: number;
  backoff: BackoffOptions;
  /** The jitter's source, [0, 1); Math.random unless a spec fixes it. */
  random?: () => number;
  /** Each failed attempt (metrics). */
  onAttemptFailed?: (kind: string) => void;
}

export interface JobWorker {
  start(): void;
  /** Claims due jobs now rather than at the next poll (after a local enqueue, or in tests). */
  wake(): void;
  /** Handlers running on this instance. */
  active(): number;
  /**
   * Stops claiming, waits up to `deadlineMs` for running handlers, then gives the claims still held back to the queue
   * (their attempt uncounted). Resolves with how many were given back.
   */
  drain(deadlineMs: number): Promise<{ released: number }>;
}

/**
 * The outbox's worker: every instance runs one. It polls for due jobs, claims a few with FOR UPDATE SKIP LOCKED,
 * runs their handlers and records the outcome; failures come back later (exponential backoff, full jitter) until
 * their last attempt, then stay dead for an operator. Claims of an instance that died are taken over once their lease
 * lapses. One statement at a time and small batches: on PGlite, a single connection, request transactions wait for
 * each claim only briefly.
 */
export function createJobWorker(options: JobWorkerOptions): JobWorker {
  const { database, clock, logger, instanceId, handlers } = options;
  const log = logger.child({ component: "jobs" });
  const running = new Map<string, { claim: Claim; done: Promise<void> }>();
  let state: "idle" | "started" | "draining" = "idle";
  let timer: ReturnType<typeof setTimeout> | null = null;
  let ticking: Promise<void> | null = null;
  let again = false;
  let lastRenewal = 0;

  const leaseFrom = (now: Date): Date => new Date(now.getTime() + options.leaseMs);

  const schedule = (): void => {
    if (state !== "started") return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void tick(), options.pollIntervalMs);
    // Deno has no unref on its timer ids; there a stopping process clears it in drain.
    (timer as { unref?: () => void }).unref?.(); // polling must not keep a stopping process alive
  };

  const tick = (): Promise<void> => {
    if (ticking) {
      again = true; // a wake during a claim: claim once more right after
      return ticking;
    }
    ticking = (async () => {
      try {
        do {
          again = false;
          await pollOnce();
        } while (again && state === "started");
      } catch (error) {
        // The database is away (or refused): the next poll tries again; claims are safe in the table meanwhile.
        log.warn("job poll failed", { error });
      } finally {
        ticking = null;
        schedule();
      }
    })();
    return ticking;
  };

  const pollOnce = async (): Promise<void> => {
    const now = clock.now();
    if (running.size > 0 && now.getTime() - lastRenewal >= options.leaseMs / 3) {
      lastRenewal = now.getTime();
      await renewClaims(database.db, [...running.values()].map((entry) => entry.claim), leaseFrom(now));
    }
    const lapsed = await requeueLapsedClaims(database.db, { now, maxAttempts: options.maxAttempts });
    if (lapsed.requeued + lapsed.dead > 0) log.warn("took over jobs whose instance stopped holding them", lapsed);
    const room = options.concurrency - running.size;
    if (room <= 0 || state !== "started") return;
    const claimed = await claimDueJobs(database.db, { now, limit: room, lockedBy: instanceId, lockedUntil: leaseFrom(now) });
    if (claimed.length > 0 && running.size === 0) lastRenewal = now.getTime();
    for (const job of claimed) {
      const claim: Claim = { id: job.id, attempts: job.attempts, lockedBy: instanceId };
      const done = runJob(job, claim).finally(() => {
        running.delete(job.id);
        if (state === "started") void tick(); // a freed slot takes the next due job without waiting for the poll
      });
      running.set(job.id, { claim, done });
    }
  };

  const runJob = async (job: ClaimedJob, claim: Claim): Promise<void> => {
    const handler = handlers[job.kind as JobKind] as ((payload: JobPayloads[JobKind], context: JobContext) => Promise<void>) | undefined;
    let failure: string | null = null;
    if (!handler) {
      failure = `no handler for job kind "${job.kind}" on this instance`;
    } else {
      try {
        // The payload was written by enqueueJob with the type of its kind.
        await handler(job.payload as JobPayloads[JobKind], { jobId: job.id, attempt: job.attempts });
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
    }
    try {
      const now = clock.now();
      if (failure === null) {
        await markDone(database.db, claim, now);
        return;
      }
      options.onAttemptFailed?.(job.kind);
      const last = !handler || job.attempts >= Math.min(job.maxAttempts, options.maxAttempts);
      const retryAt = last ? null : new Date(now.getTime() + fullJitterDelay(job.attempts - 1, options.backoff, options.random));
      await markFailed(database.db, claim, { error: failure, now, retryAt });
      const fields = { jobId: job.id, kind: job.kind, attempt: job.attempts, error: failure };
      if (retryAt) log.warn("job failed; will retry", { ...fields, retryAt: retryAt.toISOString() });
      else log.error("job is dead: an operator can retry it", fields);
    } catch (error) {
      // The outcome could not be written: the claim lapses and the job runs again (handlers are idempotent).
      log.error("could not record a job's outcome", { jobId: job.id, kind: job.kind, error });
    }
  };

  return {
    start() {
      if (state !== "idle") return;
      state = "started";
      void tick();
    },
    wake() {
      if (state === "started") void tick();
    },
    active: () => running.size,
    async drain(deadlineMs) {
      if (state === "idle") state = "draining";
      if (state === "draining" && running.size === 0) return { released: 0 };
      state = "draining";
      if (timer) clearTimeout(timer);
      await ticking;
      let expired: ReturnType<typeof setTimeout> | null = null;
      const deadline = new Promise<void>((resolve) => (expired = setTimeout(resolve, deadlineMs)));
      await Promise.race([Promise.all([...running.values()].map((entry) => entry.done)), deadline]);
      if (expired) clearTimeout(expired);
      const unfinished = [...running.values()].map((entry) => entry.claim);
      const released = unfinished.length === 0 ? 0 : await releaseClaims(database.db, unfinished, clock.now());
      if (released > 0) log.info("gave unfinished jobs back to the queue", { released });
      return { released };
    },
  };
}
