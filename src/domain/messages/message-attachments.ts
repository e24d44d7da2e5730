import { sql } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { files } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { dispositionFor } from "../files/file-content.ts";
import type { Attachment, MessageKind } from "./messages.schema.ts";

/*
 * Attachments in the group commit: a send names files by id; the batch reads them all in one statement under the
 * rooms' locks and checks each send's here. A file belongs to the room it was uploaded for, so two sends racing to
 * attach the same file are in the same room and queue behind its lock: the second sees the first's attachment.
 */

/** What the checks and the message need of a file. */
export interface AttachableFile {
  id: string;
  ownerId: string | null;
  purpose: string;
  roomId: string | null;
  messageId: string | null;
  status: string;
  filename: string;
  contentType: string;
  size: number;
  width: number | null;
  height: number | null;
  thumbnailWidth: number | null;
  thumbnailHeight: number | null;
}

/** The files the batch's sends attach, by id, in one query. */
export async function findAttachable(tx: Db, ids: readonly string[]): Promise<Map<string, AttachableFile>> {
  if (ids.length === 0) return new Map();
  const rows = await tx
    .select({
      id: files.id,
      ownerId: files.ownerId,
      purpose: files.purpose,
      roomId: files.roomId,
      messageId: files.messageId,
      status: files.status,
      filename: files.filename,
      contentType: files.contentType,
      size: files.size,
      width: files.width,
      height: files.height,
      thumbnailWidth: files.thumbnailWidth,
      thumbnailHeight: files.thumbnailHeight,
    })
    .from(files)
    .where(sql`${files.id} = any(${`{${ids.join(",")}}`}::uuid[])`);
  return new Map(rows.map((row) => [row.id, row]));
}

/**
 * Why these files may not be attached by this sender to a message of this room, or the attachments they make.
 * Someone else's file and one that does not exist get the same answer: ids reveal nothing. `taken` holds the files
 * attached earlier in the same batch.
 */
export function attachmentsFor(
  ids: readonly string[],
  context: { senderId: string; roomId: string; attachmentsAllowed: boolean },
  found: Map<string, AttachableFile>,
  taken: ReadonlySet<string>,
): Attachment[] | DomainError {
  if (ids.length === 0) return [];
  if (!context.attachmentsAllowed) {
    return new DomainError("FORBIDDEN", "this room does not take attachments", { reason: "ATTACHMENTS_OFF" });
  }
  const attachments: Attachment[] = [];
  for (const id of ids) {
    const file = found.get(id);
    if (!file || file.ownerId !== context.senderId || file.purpose !== "attachment" || file.status === "deleted") {
      return new DomainError("NOT_FOUND", "attachments: no such file");
    }
    if (file.roomId !== context.roomId) {
      return new DomainError("BAD_REQUEST", "attachments: that file was uploaded for another room", { reason: "ATTACHMENT_ROOM" });
    }
    if (file.status !== "ready") {
      return new DomainError("CONFLICT", "attachments: that upload is not completed yet (files.complete)", { reason: "FILE_NOT_READY" });
    }
    if (file.messageId !== null || taken.has(id)) {
      return new DomainError("CONFLICT", "attachments: that file is attached to another message", { reason: "FILE_ATTACHED" });
    }
    attachments.push({
      fileId: file.id,
      filename: file.filename,
      contentType: file.contentType,
      size: file.size,
      width: file.width,
      height: file.height,
      thumbnail:
        file.thumbnailWidth !== null && file.thumbnailHeight !== null ? { width: file.thumbnailWidth, height: file.thumbnailHeight } : null,
    });
  }
  return attachments;
}

/** `image` when every file is an image browsers show inline, `file` when any is not, `text` without files. */
export function kindOf(attachments: readonly Attachment[]): MessageKind {
  if (attachments.length === 0) return "text";
  return attachments.every((attachment) => dispositionFor(attachment.contentType) === "inline") ? "image" : "file";
}

/** The same attachments, in the same order: a retry with another list is another message. */
export function sameAttachments(stored: readonly Attachment[], requested: readonly string[] | undefined): boolean {
  const ids = requested ?? [];
  return stored.length === ids.length && stored.every((attachment, index) => attachment.fileId === ids[index]);
}
