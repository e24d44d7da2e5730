import type { FileInfo, FilePurpose } from "../../src/contract.ts";
import type { ParleyApi } from "./rpc.ts";

/** What to upload, and what for. */
export interface UploadRequest {
  /** A File (its name and type are used) or any Blob (then pass `filename`; `contentType` defaults to its type). */
  file: Blob;
  purpose: FilePurpose;
  /** The room an attachment or a room avatar is for; none for a user avatar. */
  roomId?: string;
  filename?: string;
  contentType?: string;
  /** Bytes sent so far, as the browser reports them (XMLHttpRequest); without it, one call at the end. */
  onProgress?(sent: number, total: number): void;
  signal?: AbortSignal;
}

/**
 * Storage refused the upload itself (its policy: another type or size than declared, an expired form) — the server
 * was never told, so nothing was kept. `status` is the storage's HTTP status; `detail` its answer, for logs.
 */
export class UploadRefusedError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`storage refused the upload (${status})`);
    this.name = "UploadRefusedError";
  }
}

/**
 * files.createUpload → the file POSTed straight to storage (S3, or the server on the local default) with the
 * presigned form → files.complete, which checks the bytes. Resolves with the ready file: pass its `id` in
 * `messages.send {attachments}`, `users.updateMe {avatarFileId}`, …. Server refusals reject as tRPC errors (a type
 * not accepted, the quota), storage's as UploadRefusedError.
 */
export async function uploadFile(api: ParleyApi, fetchImpl: typeof fetch, request: UploadRequest): Promise<FileInfo> {
  const filename = request.filename ?? (request.file as { name?: string }).name ?? "file";
  const contentType = request.contentType ?? request.file.type;
  if (!contentType) throw new TypeError("the file's type is unknown: pass contentType");
  const created = await api.files.createUpload.mutate({
    purpose: request.purpose,
    ...(request.roomId !== undefined && { roomId: request.roomId }),
    filename,
    contentType,
    size: request.file.size,
  });
  // The policy's fields first, the file last: S3 ignores fields after the file.
  const form = new FormData();
  for (const [name, value] of Object.entries(created.upload.fields)) form.append(name, value);
  form.append("file", request.file, filename);
  const answer =
    request.onProgress && typeof XMLHttpRequest !== "undefined"
      ? await postWithProgress(created.upload.url, form, request.onProgress, request.signal)
      : await fetchImpl(created.upload.url, { method: "POST", body: form, ...(request.signal && { signal: request.signal }) }).then(async (response) => ({
          status: response.status,
          text: await response.text(),
        }));
  if (answer.status < 200 || answer.status > 299) throw new UploadRefusedError(answer.status, answer.text.slice(0, 500));
  request.onProgress?.(request.file.size, request.file.size);
  return api.files.complete.mutate({ fileId: created.fileId });
}

/** fetch reports no upload progress; XMLHttpRequest does (browsers). */
function postWithProgress(
  url: string,
  form: FormData,
  onProgress: (sent: number, total: number) => void,
  signal: AbortSignal | undefined,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.upload.onprogress = (event) => onProgress(event.loaded, event.total);
    request.onload = () => resolve({ status: request.status, text: String(request.responseText ?? "") });
    request.onerror = () => reject(new TypeError("the upload failed: network error"));
    request.onabort = () => reject(new DOMException("the upload was aborted", "AbortError"));
    signal?.addEventListener("abort", () => request.abort(), { once: true });
    request.send(form);
  });
}
