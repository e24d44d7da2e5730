import { and, ne, type SQL } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { files } from "../../infra/db/schema.ts";
import { enqueueJob } from "../jobs/enqueue.ts";

/**
 * Retires files inside the caller's transaction (a message deleted, an avatar replaced): their rows say "deleted"
 * at once, so no URL is issued for them from the commit on, and the removal of their objects (original and
 * thumbnail) is an outbox job written in the same transaction: it happens exactly when the change committed, and
 * is retried until storage has let go of them.
 */
export async function disposeFiles(tx: Db, which: SQL, idempotencyKey: string): Promise<void> {
  const gone = await tx
    .update(files)
    .set({ status: "deleted" })
    .where(and(which, ne(files.status, "deleted")))
    .returning({ storageKey: files.storageKey, thumbnailKey: files.thumbnailKey });
  const keys = gone.flatMap((file) => (file.thumbnailKey ? [file.storageKey, file.thumbnailKey] : [file.storageKey]));
  if (keys.length === 0) return;
  await enqueueJob(tx, { kind: "files.deleteObjects", payload: { keys }, idempotencyKey });
}
