import { and, eq, inArray, sql } from "drizzle-orm";
import type { BucketRule, FilesConfig } from "../../config.ts";
import type { Database } from "../../infra/db/database.ts";
import { files, messages } from "../../infra/db/schema.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import type { FileStorage } from "../../infra/storage/storage.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { JobPayloads } from "../jobs/enqueue.ts";
import { enqueueJob } from "../jobs/enqueue.ts";
import { requirePermission } from "../rooms/permissions.ts";
import { findMemberRoom, findRoomForUser, historyStart } from "../rooms/room-access.ts";
import { checkContent, dispositionFor, extensionFits, SNIFF_BYTES } from "./file-content.ts";
import type { CreatedUpload, CreateUploadRequest, FileInfo, FileUrl, FileUrlRequest } from "./files.schema.ts";
import { isThumbnailed, makeThumbnail, MAX_IMAGE_PIXELS, objectKeysOf, thumbnailKeyFor } from "./thumbnails.ts";

/** How long a presigned upload form stays usable. */
const UPLOAD_TTL_SECONDS = 15 * 60;
/** How long a download URL works: long enough to start a download, short enough that a leaked one soon dies. */
const DOWNLOAD_TTL_SECONDS = 5 * 60;
/** An upload never completed is removed this long after it was created. */
export const PENDING_FILE_TTL_MS = 24 * 3600 * 1000;

export interface FileService {
  createUpload(userId: string, input: CreateUploadRequest): Promise<CreatedUpload>;
  /**
   * Checks the upload (size, type, magic bytes) and, for an image, decodes it whole into its thumbnail. BAD_REQUEST
   * FILE_CONTENT (the upload removed) when the bytes are not the declared file or the image does not decode;
   * FILE_TOO_LARGE for an image over MAX_IMAGE_PIXELS (removed unread).
   */
  complete(userId: string, fileId: string): Promise<FileInfo>;
  url(userId: string, input: FileUrlRequest): Promise<FileUrl>;
}

export interface FileServiceDeps {
  database: Database;
  storage: FileStorage;
  clock: Clock;
  rateLimiter: RateLimiter;
  uploadRate: BucketRule;
  settings: Pick<FilesConfig, "allowedTypes" | "maxBytes" | "userQuotaBytes">;
}

type FileRow = typeof files.$inferSelect;
type Thumbnail = Pick<FileRow, "thumbnailWidth" | "thumbnailHeight"> & { thumbnailKey: string };

/** NOT_FOUND for a file that does not exist and for one the caller may not use alike: ids reveal nothing. */
const noSuchFile = (): DomainError => new DomainError("NOT_FOUND", "no such file");

export function createFileService(deps: FileServiceDeps): FileService {
  const { database, storage } = deps;

  async function discard(file: FileRow): Promise<void> {
    for (const key of objectKeysOf(file)) await storage.delete(key);
    await database.db.update(files).set({ status: "deleted" }).where(eq(files.id, file.id));
  }

  /**
   * Who may have a URL: an attachment's uploader until it is sent, then those who may see its message (members
   * whose history reaches its seq); a room avatar's room members, and for a public room anyone (rooms.discover shows
   * the room to all); a user avatar, anyone signed in. Everyone else is told the file does not exist.
   */
  async function requireMayRead(userId: string, file: FileRow & { messageSeq: number | null }): Promise<void> {
    if (file.purpose === "avatar") return;
    if (file.purpose === "attachment" && file.messageSeq === null) {
      if (file.ownerId !== userId) throw noSuchFile();
      return;
    }
    const found = file.roomId ? await findRoomForUser(database.db, userId, file.roomId) : null;
    const shownToAll = file.purpose === "roomAvatar" && found?.room.kind === "public";
    if (!found || (found.role === null && !shownToAll)) throw noSuchFile();
    if (file.messageSeq !== null && file.messageSeq < historyStart(found.room, found.joinedSeq)) throw noSuchFile();
  }

  /**
   * Decodes the whole image (its size is bounded by FILES_MAX_BYTES) into a thumbnail and stores it. The header's
   * size is checked first, so a bomb is never decoded; sharp's own pixel limit backs that up.
   */
  async function storeThumbnail(file: FileRow, header: { width: number | null; height: number | null }): Promise<Thumbnail> {
    if ((header.width ?? 0) * (header.height ?? 0) > MAX_IMAGE_PIXELS) {
      await discard(file);
      throw new DomainError("BAD_REQUEST", `images may have at most ${MAX_IMAGE_PIXELS / 1_000_000} megapixels`, { reason: "FILE_TOO_LARGE" });
    }
    const bytes = await storage.readStart(file.storageKey, file.size);
    const made = bytes ? await makeThumbnail(bytes, file.contentType) : ({ ok: false, why: "the upload is gone" } as const);
    if (!made.ok) {
      await discard(file);
      throw new DomainError("BAD_REQUEST", `the file's content does not match its type: ${made.why}`, { reason: "FILE_CONTENT" });
    }
    const key = thumbnailKeyFor(file.id);
    await storage.put(key, made.body, "image/webp");
    return { thumbnailKey: key, thumbnailWidth: made.width, thumbnailHeight: made.height };
  }

  function toInfo(file: FileRow, status: "pending" | "ready"): FileInfo {
    return {
      id: file.id,
      purpose: file.purpose === "avatar" || file.purpose === "roomAvatar" ? file.purpose : "attachment",
      roomId: file.roomId,
      filename: file.filename,
      contentType: file.contentType,
      size: file.size,
      status,
      width: file.width,
      height: file.height,
      thumbnail: file.thumbnailWidth !== null && file.thumbnailHeight !== null ? { width: file.thumbnailWidth, height: file.thumbnailHeight } : null,
    };
  }

  return {
    async createUpload(userId, input) {
      const { allowedTypes, maxBytes, userQuotaBytes } = deps.settings;
      if (!allowedTypes.includes(input.contentType)) throw new DomainError("BAD_REQUEST", "this type of file is not accepted", { reason: "FILE_TYPE" });
      // Avatars are shown by their thumbnails: only images the server decodes.
      if (input.purpose !== "attachment" && !isThumbnailed(input.contentType)) {
        throw new DomainError("BAD_REQUEST", "an avatar must be a PNG, JPEG, GIF, WebP or AVIF image", { reason: "FILE_TYPE" });
      }
      if (!extensionFits(input.filename, input.contentType)) {
        throw new DomainError("BAD_REQUEST", "the file name's extension does not match its type", { reason: "FILE_TYPE" });
      }
      if (input.size > maxBytes) throw new DomainError("BAD_REQUEST", `files may be at most ${maxBytes} bytes`, { reason: "FILE_TOO_LARGE" });
      const needsRoom = input.purpose !== "avatar";
      if (needsRoom !== (input.roomId !== undefined)) {
        throw new DomainError("BAD_REQUEST", needsRoom ? "roomId is required for this purpose" : "an avatar belongs to no room");
      }
      const decision = await deps.rateLimiter.consume(`upload:${userId}`, deps.uploadRate);
      if (!decision.allowed) throw new DomainError("TOO_MANY_REQUESTS", "too many uploads; try again later", decision.retryAfterSeconds);

      const fileId = crypto.randomUUID();
      const storageKey = `files/${fileId}`;
      const createdAt = deps.clock.now();
      await database.db.transaction(async (tx) => {
        if (input.roomId !== undefined) {
          const { room, role } = await findMemberRoom(tx, userId, input.roomId);
          // Only who may set it uploads it (rooms.update takes it): nobody else spends quota on one they cannot use.
          if (input.purpose === "roomAvatar") requirePermission(role, "changeSettings");
          if (input.purpose === "attachment" && !room.settings.attachmentsAllowed) {
            throw new DomainError("FORBIDDEN", "this room does not take attachments", { reason: "ATTACHMENTS_OFF" });
          }
        }
        // Serialises one user's uploads, so two at once cannot both fit in the last of the quota.
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`files-quota:${userId}`}))`);
        const [used] = await tx
          .select({ bytes: sql<string>`coalesce(sum(${files.size}), 0)` })
          .from(files)
          .where(and(eq(files.ownerId, userId), inArray(files.status, ["pending", "ready"])));
        if (Number(used?.bytes ?? 0) + input.size > userQuotaBytes) {
          throw new DomainError("FORBIDDEN", "your storage quota is used up", { reason: "STORAGE_QUOTA" });
        }
        await tx.insert(files).values({
          id: fileId,
          ownerId: userId,
          purpose: input.purpose,
          roomId: input.roomId ?? null,
          filename: input.filename,
          contentType: input.contentType,
          size: input.size,
          storageKey,
          createdAt,
        });
        await enqueueJob(tx, {
          kind: "files.deletePending",
          payload: { fileId },
          idempotencyKey: `files.deletePending:${fileId}`,
          runAt: new Date(createdAt.getTime() + PENDING_FILE_TTL_MS),
        });
      });
      // Exactly the declared size and type: storage refuses anything else, before any byte is kept.
      const upload = await storage.createUpload({
        key: storageKey,
        contentType: input.contentType,
        minBytes: input.size,
        maxBytes: input.size,
        expiresInSeconds: UPLOAD_TTL_SECONDS,
      });
      return { fileId, upload: { url: upload.url, fields: upload.fields }, expiresAt: upload.expiresAt.toISOString() };
    },

    async complete(userId, fileId) {
      const [file] = await database.db.select().from(files).where(eq(files.id, fileId));
      if (!file || file.ownerId !== userId || file.status === "deleted") throw noSuchFile();
      if (file.status === "ready") return toInfo(file, "ready");
      const stored = await storage.head(file.storageKey);
      if (!stored) throw new DomainError("CONFLICT", "nothing was uploaded for this file yet", { reason: "UPLOAD_MISSING" });
      if (stored.size !== file.size || stored.contentType !== file.contentType) {
        await discard(file);
        throw new DomainError("BAD_REQUEST", "the upload is not the file that was declared", { reason: "FILE_CONTENT" });
      }
      const head = (await storage.readStart(file.storageKey, SNIFF_BYTES)) ?? new Uint8Array();
      const verdict = await checkContent(head, file.contentType);
      if (!verdict.ok) {
        await discard(file);
        throw new DomainError("BAD_REQUEST", `the file's content does not match its type: ${verdict.why}`, { reason: "FILE_CONTENT" });
      }
      const thumbnail = isThumbnailed(file.contentType) ? await storeThumbnail(file, verdict) : null;
      const [ready] = await database.db
        .update(files)
        .set({ status: "ready", width: verdict.width, height: verdict.height, ...thumbnail, completedAt: deps.clock.now() })
        .where(and(eq(files.id, fileId), eq(files.status, "pending")))
        .returning();
      if (!ready) {
        const [now] = await database.db.select().from(files).where(eq(files.id, fileId));
        // A second files.complete of the same upload (a retry) finished first: the same answer, and the thumbnail
        // both wrote under the same key is the one its row names.
        if (now?.status === "ready") return toInfo(now, "ready");
        // Removed (expired) while it was being checked: the cleanup may have run before the thumbnail was written.
        if (thumbnail) await storage.delete(thumbnail.thumbnailKey);
        throw noSuchFile();
      }
      return toInfo(ready, "ready");
    },

    async url(userId, { fileId, variant = "original" }) {
      const [file] = await database.db
        .select({ file: files, messageSeq: messages.seq })
        .from(files)
        .leftJoin(messages, eq(messages.id, files.messageId))
        .where(eq(files.id, fileId))
        .then((rows) => rows.map((row) => ({ ...row.file, messageSeq: row.messageSeq })));
      if (!file || file.status !== "ready") throw noSuchFile();
      await requireMayRead(userId, file);
      let served: { key: string; disposition: "inline" | "attachment"; filename: string };
      if (variant === "thumbnail") {
        if (!file.thumbnailKey) throw noSuchFile();
        // Always a WebP the server wrote itself: safe inline, named after the original ("cat.png" → "cat.webp").
        served = { key: file.thumbnailKey, disposition: "inline", filename: `${file.filename.replace(/\.[^.]*$/, "")}.webp` };
      } else {
        served = { key: file.storageKey, disposition: dispositionFor(file.contentType), filename: file.filename };
      }
      const url = await storage.downloadUrl(served.key, { ...served, expiresInSeconds: DOWNLOAD_TTL_SECONDS });
      return { url, expiresAt: new Date(deps.clock.now().getTime() + DOWNLOAD_TTL_SECONDS * 1000).toISOString() };
    },
  };
}

/** The outbox's handlers for file work; each is idempotent (a job runs at least once). */
export function createFileJobHandlers(deps: { database: Database; storage: FileStorage }): {
  "files.deleteObjects": (payload: JobPayloads["files.deleteObjects"]) => Promise<void>;
  "files.deletePending": (payload: JobPayloads["files.deletePending"]) => Promise<void>;
} {
  return {
    "files.deleteObjects": async ({ keys }) => {
      for (const key of keys) await deps.storage.delete(key);
    },
    "files.deletePending": async ({ fileId }) => {
      // Marked deleted before its objects go: a files.complete racing this then fails instead of making ready a
      // file whose objects are being removed. A retry (the row already deleted) removes them again.
      await deps.database.db.update(files).set({ status: "deleted" }).where(and(eq(files.id, fileId), eq(files.status, "pending")));
      const [file] = await deps.database.db.select().from(files).where(eq(files.id, fileId));
      if (!file || file.status !== "deleted") return; // completed in time
      for (const key of objectKeysOf(file)) await deps.storage.delete(key);
    },
  };
}
