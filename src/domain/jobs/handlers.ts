import type { JobKind, JobPayloads } from "./enqueue.ts";

/** What a handler is told besides its payload. */
export interface JobContext {
  jobId: string;
  /** 1 on the first run; a retry (or a run after a crash) sees a higher number. */
  attempt: number;
}

/**
 * The handlers a worker runs, by job kind. A handler must be idempotent: a job runs at least once, and may run again
 * after its handler succeeded (the instance died before recording it). Throwing fails the attempt: the job is retried
 * later, or dead after its last attempt. Each slice exports a map of this shape (mail, files); deps.ts merges them.
 */
export type JobHandlers = { [K in JobKind]?: (payload: JobPayloads[K], context: JobContext) => Promise<void> };
