/**
 * Where uploaded files live. The client uploads straight to storage with a presigned POST (S3, or Parley itself on
 * the local-disk default) and downloads through a signed, expiring GET URL; the server only checks, reads the first
 * bytes, writes thumbnails and deletes. Both implementations enforce the upload policy themselves: an upload with
 * the wrong type, outside the size range, after expiry or with a tampered signature never becomes an object.
 */
export interface FileStorage {
  /** A form the client POSTs as multipart/form-data: every field of `fields` first, then the file as `file`, last. */
  createUpload(policy: UploadPolicy): Promise<PresignedUpload>;
  /** The stored object's size and type, or null when there is none. */
  head(key: string): Promise<StoredObject | null>;
  /** Up to `bytes` bytes from the start of the object (fewer when it is shorter); null when there is none. */
  readStart(key: string, bytes: number): Promise<Uint8Array | null>;
  /** Writes an object the server made (a thumbnail). */
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** Removes an object; removing one that is gone is no error (jobs retry). */
  delete(key: string): Promise<void>;
  /** A GET URL valid for `expiresInSeconds`, answering with the given Content-Disposition. */
  downloadUrl(key: string, options: DownloadOptions): Promise<string>;
}

export interface UploadPolicy {
  key: string;
  /** The only Content-Type the upload may carry (an exact condition, not a prefix). */
  contentType: string;
  /** Inclusive byte range of the file. */
  minBytes: number;
  maxBytes: number;
  expiresInSeconds: number;
}

export interface PresignedUpload {
  url: string;
  fields: Record<string, string>;
  expiresAt: Date;
}

export interface StoredObject {
  size: number;
  contentType: string | null;
}

export interface DownloadOptions {
  expiresInSeconds: number;
  disposition: "inline" | "attachment";
  /** The name the browser saves it under; quoted and RFC 5987-encoded by the implementation. */
  filename: string;
}

/** `attachment; filename="…"; filename*=UTF-8''…`: an ASCII fallback for old agents, the exact name for the rest. */
export function contentDisposition(options: Pick<DownloadOptions, "disposition" | "filename">): string {
  const ascii = options.filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const encoded = encodeURIComponent(options.filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${options.disposition}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
