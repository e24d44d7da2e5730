import type { Db } from "../../infra/db/database.ts";
import { jobs } from "../../infra/db/schema.ts";

/**
 * Every kind of background work and the payload its handler takes. A payload is JSON and names rows by id rather than
 * copying them: a handler reads what is current when it runs (a retry hours later sends today's address).
 */
export interface JobPayloads {
  /** The verification email for `email_tokens` row of purpose "verify" (the token itself travels only in the job). */
  "email.verify": { userId: string; token: string };
  /** The password-reset email. */
  "email.passwordReset": { userId: string; token: string };
  /** To the new address of an email change: the link that confirms it. */
  "email.changeConfirm": { userId: string; token: string; newEmail: string };
  /** To the old address of an email change: the account's address is being changed. */
  "email.changeNotice": { userId: string; oldEmail: string; newEmail: string };
  /** Deletes stored objects (a deleted message's files, a failed upload). */
  "files.deleteObjects": { keys: string[] };
  /** Runs a day after files.createUpload: removes the upload if it was never completed (a completed one stays). */
  "files.deletePending": { fileId: string };
  /** Fault specs only: handled by test servers (JOBS_TEST_HANDLERS=1, test-handlers.ts); production never enqueues it. */
  "test.sleep": { ms: number };
}
export type JobKind = keyof JobPayloads;

export interface JobRequest<K extends JobKind = JobKind> {
  kind: K;
  payload: JobPayloads[K];
  /** Enqueueing again with the same key is a no-op (a retried request does not send two emails). */
  idempotencyKey?: string;
  /** Not before this time; now when absent. */
  runAt?: Date;
  maxAttempts?: number;
}

/**
 * Writes a job in the caller's transaction: it exists exactly when the change that causes it committed (the outbox
 * rule). Workers pick it up after the commit; nothing here runs it.
 */
export async function enqueueJob<K extends JobKind>(tx: Db, job: JobRequest<K>): Promise<void> {
  await tx
    .insert(jobs)
    .values({
      kind: job.kind,
      payload: job.payload,
      idempotencyKey: job.idempotencyKey ?? null,
      ...(job.runAt && { runAt: job.runAt }),
      ...(job.maxAttempts !== undefined && { maxAttempts: job.maxAttempts }),
    })
    .onConflictDoNothing({ target: jobs.idempotencyKey });
}
