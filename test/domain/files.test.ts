import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dispositionFor } from "../../src/domain/files/file-content.ts";
import { createFileJobHandlers } from "../../src/domain/files/files.service.ts";
import type { CreatedUpload, FileInfo } from "../../src/domain/files/files.schema.ts";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import type { FileStorage } from "../../src/infra/storage/storage.ts";
import { postUpload } from "../contracts/storage.contract.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { imageBytes, type ImageType, pngHeader, pngOverHtml } from "../support/images.ts";
import { openTestStorage, storageKinds } from "../support/test-storages.ts";
import { createUsers, inviteAndAccept, token } from "./room-fixtures.ts";
import { domainError } from "./trpc-calls.ts";

/** A zip's local file header: what a "photo.png" really is when someone renamed an archive. */
const zip = (size = 200): Uint8Array => {
  const bytes = new Uint8Array(size);
  bytes.set([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0]);
  bytes.set(new TextEncoder().encode("evil.exe"), 30);
  bytes[26] = 8;
  return bytes;
};
const PDF = new TextEncoder().encode("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");

const combos = databaseKinds.flatMap((db) => storageKinds.map((storage) => [db, storage] as const));

/**
 * files.createUpload → the client's POST straight to storage → files.complete → files.url: what each step checks,
 * and every bad input refused with a typed error and nothing left public. On each database and each storage.
 */
describe.each(combos)("files on %s with %s storage", (kind, storageKind) => {
  let deps: TestDeps;
  let storage: FileStorage;
  let closeStorage: () => Promise<void>;
  beforeAll(async () => {
    ({ storage, close: closeStorage } = await openTestStorage(storageKind));
    deps = await createTestDeps(kind, { files: { storage, settings: { maxBytes: 10_000, userQuotaBytes: 50_000 } } });
  }, 60_000);
  afterAll(async () => {
    await deps?.close();
    await closeStorage?.();
  });

  async function roomOf(owner: UserPublic, ...members: UserPublic[]): Promise<Room> {
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "private" });
    for (const member of members) await inviteAndAccept(deps, owner.id, room.id, member.id);
    return room;
  }
  const createUpload = (user: UserPublic, room: Room, filename: string, contentType: string, size: number): Promise<CreatedUpload> =>
    deps.services.files.createUpload(user.id, { purpose: "attachment", roomId: room.id, filename, contentType, size });
  const send = (created: CreatedUpload, bytes: Uint8Array): Promise<Response> =>
    postUpload({ ...created.upload, expiresAt: new Date(created.expiresAt) }, bytes);

  it("takes an image into a room: checked, measured, and downloadable by its uploader only until it is sent", async () => {
    const [alice, bob, eve] = await createUsers(deps, 3);
    const room = await roomOf(alice, bob);
    const bytes = await imageBytes("image/png", 640, 480);
    const created = await createUpload(alice, room, "cat.png", "image/png", bytes.byteLength);
    expect((await send(created, bytes)).status).toBe(204);
    const file = await deps.services.files.complete(alice.id, created.fileId);
    expect(file).toMatchObject({ status: "ready", width: 640, height: 480, size: bytes.byteLength, contentType: "image/png", filename: "cat.png" });
    expect(await deps.services.files.complete(alice.id, created.fileId)).toEqual(file); // again: the same answer

    const { url } = await deps.services.files.url(alice.id, { fileId: created.fileId });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toMatch(/^inline; filename="cat.png"/);
    // Parley serves local files itself: never sniffed, never a script (S3 serves the type the upload policy fixed).
    if (storageKind === "local") expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    // …and shown by an app on another origin too, as S3's own answers are: the signed URL is the capability.
    if (storageKind === "local") expect(response.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);

    // Other members see it once it is sent (message-attachments.test.ts); nobody else ever.
    expect(await domainError(deps.services.files.url(bob.id, { fileId: created.fileId }))).toMatchObject({ code: "NOT_FOUND" });
    expect(await domainError(deps.services.files.url(eve.id, { fileId: created.fileId }))).toMatchObject({ code: "NOT_FOUND" });
    expect(await domainError(deps.services.files.url(eve.id, { fileId: created.fileId, variant: "thumbnail" }))).toMatchObject({ code: "NOT_FOUND" });
  });

  /** `user`'s image, uploaded into `room` as `filename` and completed. */
  async function completedImage(user: UserPublic, room: Room, filename: string, type: ImageType, bytes: Uint8Array): Promise<FileInfo> {
    const created = await createUpload(user, room, filename, type, bytes.byteLength);
    expect((await send(created, bytes)).status, filename).toBe(204);
    return deps.services.files.complete(user.id, created.fileId);
  }
  /** Neither the upload nor a thumbnail of it is left in storage. */
  async function expectNothingStored(fileId: string): Promise<void> {
    expect(await storage.head(`files/${fileId}`)).toBeNull();
    expect(await storage.head(`thumbs/${fileId}.webp`)).toBeNull();
  }

  it("makes a WebP thumbnail of every image type within 320×320, never enlarged, served inline (to members once sent)", async () => {
    const [alice, bob] = await createUsers(deps, 2);
    const room = await roomOf(alice, bob);
    const made: FileInfo[] = [];
    const cases = [
      ["wide.jpg", "image/jpeg", 1000, 500, { width: 320, height: 160 }],
      ["small.png", "image/png", 100, 50, { width: 100, height: 50 }],
      ["square.gif", "image/gif", 400, 400, { width: 320, height: 320 }],
      ["tall.webp", "image/webp", 200, 800, { width: 80, height: 320 }],
      ["photo.avif", "image/avif", 640, 480, { width: 320, height: 240 }],
    ] as const;
    for (const [filename, type, width, height, thumbnail] of cases) {
      const file = await completedImage(alice, room, filename, type, await imageBytes(type, width, height));
      expect(file, filename).toMatchObject({ width, height, thumbnail });
      made.push(file);
      const response = await fetch((await deps.services.files.url(alice.id, { fileId: file.id, variant: "thumbnail" })).url);
      expect(response.status, filename).toBe(200);
      expect(response.headers.get("content-type"), filename).toBe("image/webp");
      expect(response.headers.get("content-disposition"), filename).toMatch(new RegExp(`^inline; filename="${filename.replace(/\..*/, "")}.webp"`));
      const decoded = await sharp(new Uint8Array(await response.arrayBuffer())).metadata();
      expect({ format: decoded.format, width: decoded.width, height: decoded.height }, filename).toEqual({ format: "webp", ...thumbnail });
    }
    await deps.services.messages.send(alice.id, { roomId: room.id, clientMsgId: token(), body: "", attachments: made.map((file) => file.id) });
    for (const file of made) {
      expect((await fetch((await deps.services.files.url(bob.id, { fileId: file.id, variant: "thumbnail" })).url)).status, file.filename).toBe(200);
    }
  });

  it("answers two files.complete of one image at once alike, and keeps the thumbnail", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const bytes = await imageBytes("image/png", 800, 600);
    const created = await createUpload(alice, room, "twice.png", "image/png", bytes.byteLength);
    await send(created, bytes);
    const [first, second] = await Promise.all([deps.services.files.complete(alice.id, created.fileId), deps.services.files.complete(alice.id, created.fileId)]);
    expect(first).toEqual(second);
    expect(first.thumbnail).toEqual({ width: 320, height: 240 });
    expect(await storage.head(`thumbs/${created.fileId}.webp`)).toMatchObject({ contentType: "image/webp" });
  });

  it("turns a photo's thumbnail upright by its EXIF orientation", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    // Stored 640×320 and tagged "rotate 90° to show": a portrait photo as phones write them.
    const file = await completedImage(alice, room, "portrait.jpg", "image/jpeg", await imageBytes("image/jpeg", 640, 320, { orientation: 6 }));
    expect(file.thumbnail).toEqual({ width: 160, height: 320 });
  });

  it("refuses a PNG signature over an HTML page (a polyglot) with FILE_CONTENT, and keeps nothing of it", async () => {
    const [alice, bob] = await createUsers(deps, 2);
    const room = await roomOf(alice, bob);
    const created = await createUpload(alice, room, "innocent.png", "image/png", pngOverHtml().byteLength);
    expect((await send(created, pngOverHtml())).status).toBe(204);
    expect(await domainError(deps.services.files.complete(alice.id, created.fileId))).toMatchObject({ code: "BAD_REQUEST", reason: "FILE_CONTENT" });
    await expectNothingStored(created.fileId);
    expect(await domainError(deps.services.files.url(bob.id, { fileId: created.fileId }))).toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuses a truncated image with FILE_CONTENT", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const whole = await imageBytes("image/jpeg", 300, 200);
    const cut = whole.subarray(0, Math.floor(whole.byteLength / 2));
    const created = await createUpload(alice, room, "cut.jpg", "image/jpeg", cut.byteLength);
    await send(created, cut);
    expect(await domainError(deps.services.files.complete(alice.id, created.fileId))).toMatchObject({ code: "BAD_REQUEST", reason: "FILE_CONTENT" });
    await expectNothingStored(created.fileId);
  });

  it("refuses an image whose header claims more than 40 megapixels (a decompression bomb) without decoding it", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    // 100 000 × 100 000 pixels in 200 bytes: 40 GB once decoded.
    const created = await createUpload(alice, room, "bomb.png", "image/png", 200);
    await send(created, pngHeader(100_000, 100_000));
    expect(await domainError(deps.services.files.complete(alice.id, created.fileId))).toMatchObject({ code: "BAD_REQUEST", reason: "FILE_TOO_LARGE" });
    await expectNothingStored(created.fileId);
  });

  it("refuses a download URL whose file name or key was altered", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const bytes = await imageBytes("image/png", 6, 6);
    const created = await createUpload(alice, room, "x.png", "image/png", bytes.byteLength);
    await send(created, bytes);
    await deps.services.files.complete(alice.id, created.fileId);
    const { url } = await deps.services.files.url(alice.id, { fileId: created.fileId });
    expect((await fetch(url.replace("x.png", "x.html"))).status).toBe(403);
    expect((await fetch(url.replace(created.fileId, crypto.randomUUID()))).status).toBe(403);
  });

  it("takes avatars as images only, and for no room", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const bytes = await imageBytes("image/png", 64, 64);
    const avatar = (contentType: string, roomId?: string) =>
      deps.services.files.createUpload(alice.id, { purpose: "avatar", filename: "me", contentType, size: bytes.byteLength, ...(roomId && { roomId }) });
    expect(await domainError(avatar("application/pdf"))).toMatchObject({ code: "BAD_REQUEST", reason: "FILE_TYPE" });
    expect(await domainError(avatar("image/png", room.id))).toMatchObject({ code: "BAD_REQUEST" });
    const created = await avatar("image/png");
    await send(created, bytes);
    expect(await deps.services.files.complete(alice.id, created.fileId)).toMatchObject({ purpose: "avatar", roomId: null, width: 64 });
  });

  it("serves a PDF as an attachment, never inline", async () => {
    const [alice, bob] = await createUsers(deps, 2);
    const room = await roomOf(alice, bob);
    const created = await createUpload(alice, room, "report.pdf", "application/pdf", PDF.byteLength);
    expect((await send(created, PDF)).status).toBe(204);
    await deps.services.files.complete(alice.id, created.fileId);
    const response = await fetch((await deps.services.files.url(alice.id, { fileId: created.fileId })).url);
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="report.pdf"/);
    expect(await domainError(deps.services.files.url(alice.id, { fileId: created.fileId, variant: "thumbnail" }))).toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuses types that are not accepted (HTML, SVG) and names whose extension lies about the type", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    for (const [name, type] of [["page.html", "text/html"], ["logo.svg", "image/svg+xml"], ["photo.png", "application/pdf"]] as const) {
      expect(await domainError(createUpload(alice, room, name, type, 100))).toMatchObject({ code: "BAD_REQUEST", reason: "FILE_TYPE" });
    }
  });

  it("refuses a declared size over FILES_MAX_BYTES, and storage refuses more bytes than were declared", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    expect(await domainError(createUpload(alice, room, "big.png", "image/png", 10_001))).toMatchObject({ code: "BAD_REQUEST", reason: "FILE_TOO_LARGE" });
    const created = await createUpload(alice, room, "small.png", "image/png", 200);
    expect((await send(created, pngHeader(1, 1, 201))).status).toBe(400);
    expect(await domainError(deps.services.files.complete(alice.id, created.fileId))).toMatchObject({ code: "CONFLICT", reason: "UPLOAD_MISSING" });
  });

  it("deletes a zip renamed .png at files.complete and answers FILE_CONTENT; the file never becomes downloadable", async () => {
    const [alice, bob] = await createUsers(deps, 2);
    const room = await roomOf(alice, bob);
    const created = await createUpload(alice, room, "holiday.png", "image/png", 200);
    expect((await send(created, zip())).status).toBe(204);
    expect(await domainError(deps.services.files.complete(alice.id, created.fileId))).toMatchObject({ code: "BAD_REQUEST", reason: "FILE_CONTENT" });
    expect(await storage.head(`files/${created.fileId}`)).toBeNull();
    expect(await domainError(deps.services.files.url(bob.id, { fileId: created.fileId }))).toMatchObject({ code: "NOT_FOUND" });
    expect(await domainError(deps.services.files.complete(alice.id, created.fileId))).toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuses binary content declared as text/plain", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const created = await createUpload(alice, room, "notes.txt", "text/plain", 200);
    expect((await send(created, pngHeader(2, 2))).status).toBe(204);
    expect(await domainError(deps.services.files.complete(alice.id, created.fileId))).toMatchObject({ reason: "FILE_CONTENT" });
  });

  it("answers NOT_FOUND to someone completing another's upload, and refuses outsiders and closed rooms at createUpload", async () => {
    const [alice, mallory] = await createUsers(deps, 2);
    const room = await roomOf(alice);
    const created = await createUpload(alice, room, "a.png", "image/png", 200);
    await send(created, pngHeader(3, 3));
    expect(await domainError(deps.services.files.complete(mallory.id, created.fileId))).toMatchObject({ code: "NOT_FOUND" });
    expect(await domainError(createUpload(mallory, room, "b.png", "image/png", 200))).toMatchObject({ code: "FORBIDDEN" });
    await deps.services.rooms.update(alice.id, { roomId: room.id, settings: { attachmentsAllowed: false } });
    expect(await domainError(createUpload(alice, room, "c.png", "image/png", 200))).toMatchObject({ code: "FORBIDDEN", reason: "ATTACHMENTS_OFF" });
  });

  it("refuses an upload past USER_STORAGE_QUOTA_MB (pending uploads count)", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    for (let i = 0; i < 5; i++) await createUpload(alice, room, `${i}.png`, "image/png", 9_000);
    expect(await domainError(createUpload(alice, room, "last.png", "image/png", 9_000))).toMatchObject({ code: "FORBIDDEN", reason: "STORAGE_QUOTA" });
  });

  it("removes an upload never completed when its cleanup job runs, and leaves a completed one alone", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const handlers = createFileJobHandlers({ database: deps.database, storage });
    const abandoned = await createUpload(alice, room, "a.png", "image/png", 200);
    await send(abandoned, pngHeader(4, 4));
    // As a files.complete racing the cleanup would leave it: the thumbnail written, the row not yet ready.
    await storage.put(`thumbs/${abandoned.fileId}.webp`, await imageBytes("image/webp", 4, 4), "image/webp");
    const bytes = await imageBytes("image/png", 5, 5);
    const kept = await createUpload(alice, room, "k.png", "image/png", bytes.byteLength);
    await send(kept, bytes);
    await deps.services.files.complete(alice.id, kept.fileId);
    for (const fileId of [abandoned.fileId, kept.fileId, abandoned.fileId]) await handlers["files.deletePending"]({ fileId });
    expect(await storage.head(`files/${abandoned.fileId}`)).toBeNull();
    expect(await storage.head(`thumbs/${abandoned.fileId}.webp`)).toBeNull();
    expect(await storage.head(`files/${kept.fileId}`)).not.toBeNull();
    expect(await storage.head(`thumbs/${kept.fileId}.webp`)).not.toBeNull();
    expect(await domainError(deps.services.files.complete(alice.id, abandoned.fileId))).toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("what a download may show inline", () => {
  it("is only the raster images a browser shows as pictures: SVG, HTML, scripts and all else download as files", () => {
    for (const type of ["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"]) expect(dispositionFor(type), type).toBe("inline");
    for (const type of ["image/svg+xml", "text/html", "text/javascript", "application/javascript", "application/xhtml+xml", "text/xml", "application/pdf", "text/plain"]) {
      expect(dispositionFor(type), type).toBe("attachment");
    }
  });
});
