import { eq } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { files } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { disposeFiles } from "./file-disposal.ts";

/** Whose avatar a file is to become: the caller's own, or a room's. */
export type AvatarUse = { purpose: "avatar" } | { purpose: "roomAvatar"; roomId: string };

/**
 * Refuses a file that may not become this avatar: NOT_FOUND for one that does not exist, is deleted or was uploaded
 * by someone else (ids reveal nothing); BAD_REQUEST for the caller's own file that is not yet complete, or was
 * uploaded for another purpose or room. Every file it lets through is a ready image with a thumbnail (files.complete
 * makes one for every image it accepts, and avatars are images only).
 */
export async function requireAvatarFile(db: Db, userId: string, fileId: string, use: AvatarUse): Promise<void> {
  const [file] = await db
    .select({ ownerId: files.ownerId, status: files.status, purpose: files.purpose, roomId: files.roomId })
    .from(files)
    .where(eq(files.id, fileId));
  if (!file || file.ownerId !== userId || file.status === "deleted") throw new DomainError("NOT_FOUND", "no such file");
  if (file.status !== "ready") throw new DomainError("BAD_REQUEST", "the upload is not complete yet (files.complete)");
  const roomId = use.purpose === "roomAvatar" ? use.roomId : null;
  if (file.purpose !== use.purpose || file.roomId !== roomId) {
    throw new DomainError("BAD_REQUEST", use.purpose === "avatar" ? "the file was not uploaded as an avatar" : "the file was not uploaded as this room's avatar");
  }
}

/**
 * Retires an avatar that was replaced or cleared, in the caller's transaction: the file is deleted at once (it no
 * longer counts against the quota, files.url no longer serves it) and its objects are removed by the outbox after
 * the commit, so a rolled-back change removes nothing.
 */
export async function retireAvatarFile(tx: Db, fileId: string): Promise<void> {
  await disposeFiles(tx, eq(files.id, fileId), `files.deleteObjects:${fileId}`);
}
