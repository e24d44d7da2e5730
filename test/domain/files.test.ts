import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileJobHandlers } from "../../src/domain/files/files.service.ts";
import type { CreatedUpload } from "../../src/domain/files/files.schema.ts";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import type { FileStorage } from "../../src/infra/storage/storage.ts";
import { postUpload } from "../contracts/storage.contract.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { openTestStorage, storageKinds } from "../support/test-storages.ts";
import { createUsers, inviteAndAccept, token } from "./room-fixtures.ts";
import { domainError } from "./trpc-calls.ts";

/** A PNG of the given size as far as its header goes: signature, IHDR with width and height, then padding. */
function png(width: number, height: number, size = 200): Uint8Array {
  const bytes = new Uint8Array(size);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(bytes.buffer).setUint32(16, width);
  new DataView(bytes.buffer).setUint32(20, height);
  bytes.set([8, 2, 0, 0, 0], 24);
  return bytes;
}
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
    const bytes = png(640, 480);
    const created = await createUpload(alice, room, "cat.png", "image/png", bytes.byteLength);
    expect((await send(created, bytes)).status).toBe(204);
    const file = await deps.services.files.complete(alice.id, created.fileId);
    expect(file).toMatchObject({ status: "ready", width: 640, height: 480, size: 200, contentType: "image/png", filename: "cat.png" });
    expect(await deps.services.files.complete(alice.id, created.fileId)).toEqual(file); // again: the same answer

    const { url } = await deps.services.files.url(alice.id, created.fileId);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toMatch(/^inline; filename="cat.png"/);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);

    // Other members see it once it is sent (message-attachments.test.ts); nobody else ever.
    expect(await domainError(deps.services.files.url(bob.id, created.fileId))).toMatchObject({ code: "NOT_FOUND" });
    expect(await domainError(deps.services.files.url(eve.id, created.fileId))).toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuses a download URL whose file name or key was altered", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const created = await createUpload(alice, room, "x.png", "image/png", 200);
    await send(created, png(6, 6));
    await deps.services.files.complete(alice.id, created.fileId);
    const { url } = await deps.services.files.url(alice.id, created.fileId);
    expect((await fetch(url.replace("x.png", "x.html"))).status).toBe(403);
    expect((await fetch(url.replace(created.fileId, crypto.randomUUID()))).status).toBe(403);
  });

  it("takes avatars as images only, and for no room", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const avatar = (contentType: string, roomId?: string) =>
      deps.services.files.createUpload(alice.id, { purpose: "avatar", filename: "me", contentType, size: 200, ...(roomId && { roomId }) });
    expect(await domainError(avatar("application/pdf"))).toMatchObject({ code: "BAD_REQUEST", reason: "FILE_TYPE" });
    expect(await domainError(avatar("image/png", room.id))).toMatchObject({ code: "BAD_REQUEST" });
    const created = await avatar("image/png");
    await send(created, png(64, 64));
    expect(await deps.services.files.complete(alice.id, created.fileId)).toMatchObject({ purpose: "avatar", roomId: null, width: 64 });
  });

  it("serves a PDF as an attachment, never inline", async () => {
    const [alice, bob] = await createUsers(deps, 2);
    const room = await roomOf(alice, bob);
    const created = await createUpload(alice, room, "report.pdf", "application/pdf", PDF.byteLength);
    expect((await send(created, PDF)).status).toBe(204);
    await deps.services.files.complete(alice.id, created.fileId);
    const response = await fetch((await deps.services.files.url(alice.id, created.fileId)).url);
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="report.pdf"/);
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
    expect((await send(created, png(1, 1, 201))).status).toBe(400);
    expect(await domainError(deps.services.files.complete(alice.id, created.fileId))).toMatchObject({ code: "CONFLICT", reason: "UPLOAD_MISSING" });
  });

  it("deletes a zip renamed .png at files.complete and answers FILE_CONTENT; the file never becomes downloadable", async () => {
    const [alice, bob] = await createUsers(deps, 2);
    const room = await roomOf(alice, bob);
    const created = await createUpload(alice, room, "holiday.png", "image/png", 200);
    expect((await send(created, zip())).status).toBe(204);
    expect(await domainError(deps.services.files.complete(alice.id, created.fileId))).toMatchObject({ code: "BAD_REQUEST", reason: "FILE_CONTENT" });
    expect(await storage.head(`files/${created.fileId}`)).toBeNull();
    expect(await domainError(deps.services.files.url(bob.id, created.fileId))).toMatchObject({ code: "NOT_FOUND" });
    expect(await domainError(deps.services.files.complete(alice.id, created.fileId))).toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuses binary content declared as text/plain", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const created = await createUpload(alice, room, "notes.txt", "text/plain", 200);
    expect((await send(created, png(2, 2))).status).toBe(204);
    expect(await domainError(deps.services.files.complete(alice.id, created.fileId))).toMatchObject({ reason: "FILE_CONTENT" });
  });

  it("answers NOT_FOUND to someone completing another's upload, and refuses outsiders and closed rooms at createUpload", async () => {
    const [alice, mallory] = await createUsers(deps, 2);
    const room = await roomOf(alice);
    const created = await createUpload(alice, room, "a.png", "image/png", 200);
    await send(created, png(3, 3));
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
    await send(abandoned, png(4, 4));
    const kept = await createUpload(alice, room, "k.png", "image/png", 200);
    await send(kept, png(5, 5));
    await deps.services.files.complete(alice.id, kept.fileId);
    for (const fileId of [abandoned.fileId, kept.fileId, abandoned.fileId]) await handlers["files.deletePending"]({ fileId });
    expect(await storage.head(`files/${abandoned.fileId}`)).toBeNull();
    expect(await storage.head(`files/${kept.fileId}`)).not.toBeNull();
    expect(await domainError(deps.services.files.complete(alice.id, abandoned.fileId))).toMatchObject({ code: "NOT_FOUND" });
  });
});
