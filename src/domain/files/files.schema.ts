import { z } from "zod";

export type FilePurpose = "attachment" | "avatar" | "roomAvatar";

// No path separators, no control characters: the name is shown and offered as a download name, never a path.
const Filename = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .refine((name) => ![...name].some((c) => c.charCodeAt(0) < 0x20 || c === "\u007f" || c === "/" || c === "\\") && name !== "." && name !== "..", "not a file name");

export const CreateUploadInput = z.strictObject({
  purpose: z.enum(["attachment", "avatar", "roomAvatar"]),
  roomId: z.uuid().optional(),
  filename: Filename,
  contentType: z.string().trim().toLowerCase().min(3).max(127).regex(/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/, "not a MIME type"),
  size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
export type CreateUploadRequest = z.infer<typeof CreateUploadInput>;

export const FileIdInput = z.strictObject({ fileId: z.uuid() });

/** "original" when absent; "thumbnail": the WebP the server made of an image (NOT_FOUND for a file that has none). */
export const FileUrlInput = z.strictObject({ fileId: z.uuid(), variant: z.enum(["original", "thumbnail"]).optional() });
export type FileUrlRequest = z.infer<typeof FileUrlInput>;

export interface CreatedUpload {
  fileId: string;
  /** POST `fields` then the file (as `file`, last) to `url` as multipart/form-data, before `expiresAt`. */
  upload: { url: string; fields: Record<string, string> };
  expiresAt: string;
}

export interface FileInfo {
  id: string;
  purpose: FilePurpose;
  roomId: string | null;
  filename: string;
  contentType: string;
  size: number;
  status: "pending" | "ready";
  width: number | null;
  height: number | null;
  /** Every image the server accepted has one (`files.url` variant "thumbnail"): a WebP within 320×320, never enlarged. */
  thumbnail: { width: number; height: number } | null;
}

export interface FileUrl {
  url: string;
  expiresAt: string;
}
