import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileStorage, PresignedUpload } from "../../src/infra/storage/storage.ts";

export interface StorageUnderTest {
  storage: FileStorage;
  /** The same upload with its signature altered the way an attacker could (the storage must refuse it). */
  tamperUpload(upload: PresignedUpload): PresignedUpload;
  close(): Promise<void>;
}

/** What a browser does with a presigned POST: every field first, the file last. The same code for both storages. */
export async function postUpload(upload: PresignedUpload, bytes: Uint8Array, fieldOverrides: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of Object.entries({ ...upload.fields, ...fieldOverrides })) form.append(name, value);
  form.append("file", new Blob([bytes as Uint8Array<ArrayBuffer>]));
  return fetch(upload.url, { method: "POST", body: form });
}

const PNG_HEADER = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const uniqueKey = (): string => `test/${crypto.randomUUID()}`;
const bytesOf = (size: number): Uint8Array => {
  const out = new Uint8Array(size);
  out.set(PNG_HEADER.subarray(0, Math.min(size, PNG_HEADER.length)));
  return out;
};

/** The storage port's contract: every implementation runs it (test/contracts/storage.<impl>.test.ts). */
export function describeStorageContract(name: string, open: () => Promise<StorageUnderTest>): void {
  describe(`FileStorage contract: ${name}`, () => {
    let subject: StorageUnderTest;
    beforeAll(async () => {
      subject = await open();
    }, 60_000);
    afterAll(async () => {
      await subject?.close();
    });
    const policy = (key: string, overrides: Partial<{ maxBytes: number; expiresInSeconds: number }> = {}) =>
      subject.storage.createUpload({ key, contentType: "image/png", minBytes: 1, maxBytes: 1000, expiresInSeconds: 300, ...overrides });

    it("takes an upload within its policy; head, the first bytes and delete then work on it", async () => {
      const key = uniqueKey();
      const upload = await policy(key);
      expect(upload.expiresAt.getTime()).toBeGreaterThan(Date.now());
      const response = await postUpload(upload, bytesOf(600));
      expect(response.status).toBe(204);
      expect(await subject.storage.head(key)).toEqual({ size: 600, contentType: "image/png" });
      expect(Array.from((await subject.storage.readStart(key, 8)) ?? [])).toEqual(Array.from(PNG_HEADER.subarray(0, 8)));
      expect((await subject.storage.readStart(key, 4096))?.byteLength).toBe(600);
      await subject.storage.delete(key);
      expect(await subject.storage.head(key)).toBeNull();
      expect(await subject.storage.readStart(key, 8)).toBeNull();
      await subject.storage.delete(key); // deleting what is gone is no error: jobs retry
    });

    it("refuses an upload whose Content-Type is not the policy's exact type, and stores nothing", async () => {
      const key = uniqueKey();
      const response = await postUpload(await policy(key), bytesOf(100), { "Content-Type": "text/html" });
      expect(response.status).toBe(403);
      expect(await subject.storage.head(key)).toBeNull();
    });

    it("refuses an upload larger than the policy's range, and stores nothing", async () => {
      const key = uniqueKey();
      const response = await postUpload(await policy(key), bytesOf(1001));
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("EntityTooLarge");
      expect(await subject.storage.head(key)).toBeNull();
    });

    it("refuses an upload whose signature was tampered with", async () => {
      const key = uniqueKey();
      const response = await postUpload(subject.tamperUpload(await policy(key)), bytesOf(100));
      expect(response.status).toBe(403);
      expect(await subject.storage.head(key)).toBeNull();
    });

    it("refuses an upload aimed at another key with a valid form for its own (someone else's file), and leaves that file alone", async () => {
      const victim = uniqueKey();
      await subject.storage.put(victim, bytesOf(50), "image/png");
      const mine = await policy(uniqueKey());
      const response = await postUpload(mine, bytesOf(100), { key: victim });
      expect(response.status).toBe(403);
      expect(await subject.storage.head(victim)).toEqual({ size: 50, contentType: "image/png" });
    });

    it("refuses an upload after its policy expired", async () => {
      const key = uniqueKey();
      const upload = await policy(key, { expiresInSeconds: 1 });
      await sleep(2100);
      const response = await postUpload(upload, bytesOf(100));
      expect(response.status).toBe(403);
      expect(await subject.storage.head(key)).toBeNull();
    });

    it("serves a signed GET with its Content-Disposition; a tampered one is refused, an expired one too", async () => {
      const key = uniqueKey();
      await subject.storage.put(key, bytesOf(50), "image/png");
      const url = await subject.storage.downloadUrl(key, { expiresInSeconds: 60, disposition: "attachment", filename: "café \"1\".png" });
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(new Uint8Array(await response.arrayBuffer()).byteLength).toBe(50);
      expect(response.headers.get("content-disposition")).toBe(`attachment; filename="caf_ _1_.png"; filename*=UTF-8''caf%C3%A9%20%221%22.png`);

      const otherKey = new URL(url);
      otherKey.pathname = otherKey.pathname.replace(key, uniqueKey());
      expect((await fetch(otherKey)).status).toBe(403);
      const inline = new URL(url);
      inline.searchParams.forEach((value, name) => {
        if (/disposition/i.test(name)) inline.searchParams.set(name, value.replace("attachment", "inline"));
      });
      expect((await fetch(inline)).status).toBe(403);

      const shortLived = await subject.storage.downloadUrl(key, { expiresInSeconds: 1, disposition: "inline", filename: "a.png" });
      await sleep(2100);
      expect((await fetch(shortLived)).status).toBe(403);
      await subject.storage.delete(key);
    });
  });
}
