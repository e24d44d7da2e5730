import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { contentDisposition, type FileStorage, type StoredObject, type UploadPolicy } from "./storage.ts";

export interface LocalStorageConfig {
  /** DATA_DIR/files */
  root: string;
  /** Where clients reach Parley (its file routes are under /files/…). */
  publicUrl: string;
  /** HMAC key for upload policies and download URLs. */
  secret: string;
  now?: () => number;
}

/** What the upload route answers, shaped like S3's answers to a POST upload. */
export type UploadOutcome =
  | { status: 204 }
  | { status: 400 | 403; code: "AccessDenied" | "EntityTooLarge" | "EntityTooSmall" | "InvalidArgument"; message: string };

export type DownloadOutcome =
  | { status: 200; body: Uint8Array; contentType: string; disposition: string }
  | { status: 403 | 404; code: "AccessDenied" | "NoSuchKey" };

export interface LocalStorage extends FileStorage {
  /** POST /files/upload?policy=…&signature=…: multipart form with `key`, `Content-Type`, then `file`. */
  acceptUpload(query: URLSearchParams, request: Request): Promise<UploadOutcome>;
  /** GET /files/object/<key>?expires=…&disposition=…&signature=… */
  serveDownload(key: string, query: URLSearchParams): Promise<DownloadOutcome>;
}

interface SignedPolicy {
  key: string;
  type: string;
  min: number;
  max: number;
  /** Unix milliseconds. */
  expires: number;
}

/** Multipart framing and the two small fields around the file: what a form may add to the file's own bytes. */
const FORM_OVERHEAD_BYTES = 64 * 1024;
const KEY_PATTERN = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*(\.[A-Za-z0-9]+)?$/;

/**
 * Files under DATA_DIR/files, for the embedded default. Parley itself is the storage server here: it takes the
 * presigned POST and serves the signed GET, with the checks S3 makes — the policy's HMAC, its expiry, the exact
 * Content-Type and the size range (an upload past it is cut off while it streams, never written).
 */
export function createLocalStorage(config: LocalStorageConfig): LocalStorage {
  const now = config.now ?? Date.now;
  const base = (): string => config.publicUrl.replace(/\/+$/, "");
  const sign = (text: string): string => createHmac("sha256", config.secret).update(text).digest("base64url");
  const verify = (text: string, signature: string | null): boolean => {
    if (!signature) return false;
    const expected = Buffer.from(sign(text));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  };
  const pathOf = (key: string): string => {
    if (!KEY_PATTERN.test(key)) throw new Error(`storage key refused: ${JSON.stringify(key)}`);
    return join(config.root, key);
  };
  const metaPathOf = (key: string): string => `${pathOf(key)}.meta.json`;
  const denied = (message: string): UploadOutcome => ({ status: 403, code: "AccessDenied", message });

  async function writeObject(key: string, body: Uint8Array, contentType: string): Promise<void> {
    const path = pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // Written aside, then renamed: a reader never sees half an object.
    const temporary = `${path}.${crypto.randomUUID()}.tmp`;
    await writeFile(temporary, body);
    await writeFile(`${temporary}.meta`, JSON.stringify({ contentType }));
    await rename(`${temporary}.meta`, metaPathOf(key));
    await rename(temporary, path);
  }

  async function head(key: string): Promise<StoredObject | null> {
    try {
      const [info, meta] = await Promise.all([stat(pathOf(key)), readFile(metaPathOf(key), "utf8")]);
      const parsed: unknown = JSON.parse(meta);
      const contentType = typeof parsed === "object" && parsed && "contentType" in parsed && typeof parsed.contentType === "string" ? parsed.contentType : null;
      return { size: info.size, contentType };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  return {
    async createUpload(policy: UploadPolicy) {
      pathOf(policy.key); // refuses a key that could leave the root
      const expires = now() + policy.expiresInSeconds * 1000;
      const signed: SignedPolicy = { key: policy.key, type: policy.contentType, min: policy.minBytes, max: policy.maxBytes, expires };
      const encoded = Buffer.from(JSON.stringify(signed)).toString("base64url");
      const query = new URLSearchParams({ policy: encoded, signature: sign(`upload\n${encoded}`) });
      return { url: `${base()}/files/upload?${query}`, fields: { key: policy.key, "Content-Type": policy.contentType }, expiresAt: new Date(expires) };
    },
    head,
    async readStart(key, bytes) {
      let handle;
      try {
        handle = await open(pathOf(key), "r");
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
      try {
        const buffer = new Uint8Array(bytes);
        const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
    put: writeObject,
    async delete(key) {
      await rm(pathOf(key), { force: true });
      await rm(metaPathOf(key), { force: true });
    },
    async downloadUrl(key, options) {
      pathOf(key);
      const expires = String(now() + options.expiresInSeconds * 1000);
      const disposition = contentDisposition(options);
      const signature = sign(`download\n${key}\n${expires}\n${disposition}`);
      return `${base()}/files/object/${key}?${new URLSearchParams({ expires, disposition, signature })}`;
    },

    async acceptUpload(query, request) {
      const encoded = query.get("policy") ?? "";
      if (!verify(`upload\n${encoded}`, query.get("signature"))) return denied("the policy signature does not match");
      const policy = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8")) as SignedPolicy; // signed by us
      if (now() > policy.expires) return denied("the policy has expired");
      const limit = policy.max + FORM_OVERHEAD_BYTES;
      const declared = Number(request.headers.get("content-length") ?? "0");
      const tooLarge: UploadOutcome = { status: 400, code: "EntityTooLarge", message: "the file is larger than the policy allows" };
      if (declared > limit || !request.body) return declared > limit ? tooLarge : { status: 400, code: "InvalidArgument", message: "no body" };
      const body = await readAtMost(request.body, limit);
      if (body === "too-large") return tooLarge;
      let form: FormData;
      try {
        form = await new Response(body, { headers: { "content-type": request.headers.get("content-type") ?? "" } }).formData();
      } catch {
        return { status: 400, code: "InvalidArgument", message: "the body is not a multipart form" };
      }
      if (form.get("key") !== policy.key) return denied("the key does not match the policy");
      if (form.get("Content-Type") !== policy.type) return denied("the Content-Type does not match the policy");
      const file = form.get("file");
      if (!(file instanceof Blob)) return { status: 400, code: "InvalidArgument", message: "the form has no file" };
      if (file.size > policy.max) return tooLarge;
      if (file.size < policy.min) return { status: 400, code: "EntityTooSmall", message: "the file is smaller than the policy allows" };
      await writeObject(policy.key, new Uint8Array(await file.arrayBuffer()), policy.type);
      return { status: 204 };
    },

    async serveDownload(key, query) {
      const expires = query.get("expires") ?? "";
      const disposition = query.get("disposition") ?? "";
      if (!KEY_PATTERN.test(key) || !verify(`download\n${key}\n${expires}\n${disposition}`, query.get("signature"))) {
        return { status: 403, code: "AccessDenied" };
      }
      if (now() > Number(expires)) return { status: 403, code: "AccessDenied" };
      const object = await head(key);
      if (!object) return { status: 404, code: "NoSuchKey" };
      const body = new Uint8Array(await readFile(pathOf(key)));
      return { status: 200, body, contentType: object.contentType ?? "application/octet-stream", disposition };
    },
  };
}

/** The whole stream, or "too-large" as soon as it passes `limit` bytes (the rest is never read). */
async function readAtMost(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array<ArrayBuffer> | "too-large"> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return "too-large";
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function isNotFound(error: unknown): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === "ENOENT";
}
