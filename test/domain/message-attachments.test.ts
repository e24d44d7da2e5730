import { eq } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileJobHandlers } from "../../src/domain/files/files.service.ts";
import type { JobPayloads } from "../../src/domain/jobs/enqueue.ts";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { jobs } from "../../src/infra/db/schema.ts";
import type { FileStorage } from "../../src/infra/storage/storage.ts";
import { postUpload } from "../contracts/storage.contract.ts";
import { databaseKinds } from "../support/databases.ts";
import { logReader } from "../support/room-log.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { openTestStorage, storageKinds } from "../support/test-storages.ts";
import { createUsers, inviteAndAccept, token } from "./room-fixtures.ts";
import { callerFor, domainError } from "./trpc-calls.ts";

const PDF = new TextEncoder().encode("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
const photo = (width: number, height: number): Promise<Uint8Array> =>
  sharp({ create: { width, height, channels: 3, background: { r: 30, g: 120, b: 200 } } })
    .png()
    .toBuffer()
    .then((buffer) => new Uint8Array(buffer));

const combos = databaseKinds.flatMap((db) => storageKinds.map((storage) => [db, storage] as const));

/**
 * messages.send {attachments}: completed uploads become a message's files — its kind, their metadata in the room's
 * log and in every read, URLs only for those who may see the message — and go with the message when it is deleted.
 * On each database and each storage.
 */
describe.each(combos)("attachments on %s with %s storage", (kind, storageKind) => {
  let deps: TestDeps;
  let storage: FileStorage;
  let closeStorage: () => Promise<void>;
  beforeAll(async () => {
    ({ storage, close: closeStorage } = await openTestStorage(storageKind));
    deps = await createTestDeps(kind, { files: { storage, settings: { maxBytes: 200_000, userQuotaBytes: 2_000_000 } } });
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
  /** createUpload → the client's POST to storage → files.complete (unless `complete: false`); the file's id. */
  async function upload(user: UserPublic, room: Room, filename: string, contentType: string, bytes: Uint8Array, complete = true): Promise<string> {
    const created = await deps.services.files.createUpload(user.id, { purpose: "attachment", roomId: room.id, filename, contentType, size: bytes.byteLength });
    expect((await postUpload({ ...created.upload, expiresAt: new Date(created.expiresAt) }, bytes)).status).toBe(204);
    if (complete) await deps.services.files.complete(user.id, created.fileId);
    return created.fileId;
  }
  const send = (user: UserPublic, room: Room, attachments: string[], body = "") =>
    deps.services.messages.send(user.id, { roomId: room.id, clientMsgId: token(), body, attachments });

  it("sends an image and a PDF as messages of kind image and file, their metadata in the log and in every read", async () => {
    const [alice, bob] = await createUsers(deps, 2);
    const room = await roomOf(alice, bob);
    const image = await upload(alice, room, "cat.png", "image/png", await photo(640, 480));
    const pdf = await upload(alice, room, "report.pdf", "application/pdf", PDF);

    const { message: shown } = await send(alice, room, [image]);
    expect(shown).toMatchObject({ kind: "image", body: "" });
    expect(shown.attachments).toEqual([
      { fileId: image, filename: "cat.png", contentType: "image/png", size: expect.any(Number), width: 640, height: 480, thumbnail: { width: 320, height: 240 } },
    ]);
    const { message: filed } = await send(alice, room, [pdf], "the quarterly report");
    expect(filed).toMatchObject({ kind: "file", body: "the quarterly report" });
    expect(filed.attachments).toEqual([
      { fileId: pdf, filename: "report.pdf", contentType: "application/pdf", size: PDF.byteLength, width: null, height: null, thumbnail: null },
    ]);

    // The same message wherever a client meets it: the log (live and resumed), a page, the room list's preview.
    expect(await logReader(deps.services.roomLog).messages(room.id, shown.seq - 1)).toEqual([shown, filed]);
    const page = await deps.services.messages.list(bob.id, { roomId: room.id, limit: 10 });
    expect(page.messages.slice(-2)).toEqual([shown, filed]);
    // Search finds a caption, and `has: "attachment"` keeps to messages with files.
    await send(alice, room, [], "the quarterly report is late");
    const found = await callerFor(deps.services, bob.id).messages.search({ query: "quarterly report", roomId: room.id, has: "attachment" });
    expect(found.hits.map((hit) => hit.message.id)).toEqual([filed.id]);
  });

  it("gives a URL to members who may see the message and to nobody else; before the send, only to the uploader", async () => {
    const [alice, bob, eve] = await createUsers(deps, 3);
    const room = await roomOf(alice, bob);
    const pdf = await upload(alice, room, "plan.pdf", "application/pdf", PDF);
    expect(await domainError(deps.services.files.url(bob.id, { fileId: pdf }))).toMatchObject({ code: "NOT_FOUND" });
    expect((await deps.services.files.url(alice.id, { fileId: pdf })).url).toBeTruthy();

    await send(alice, room, [pdf], "see attached");
    const { url } = await deps.services.files.url(bob.id, { fileId: pdf });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="plan.pdf"/);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(PDF);
    expect(await domainError(deps.services.files.url(eve.id, { fileId: pdf }))).toMatchObject({ code: "NOT_FOUND" });

    // A member who joins a room that shows history only since joining does not see the message, nor its file.
    await deps.services.rooms.update(alice.id, { roomId: room.id, settings: { historyVisibility: "sinceJoin" } });
    await inviteAndAccept(deps, alice.id, room.id, eve.id);
    expect(await domainError(deps.services.files.url(eve.id, { fileId: pdf }))).toMatchObject({ code: "NOT_FOUND" });
  });

  it("takes up to 10 files per message, and refuses 11 and a file listed twice", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const ids: string[] = [];
    for (let i = 0; i < 11; i++) ids.push(await upload(alice, room, `${i}.pdf`, "application/pdf", PDF));
    expect(await domainError(send(alice, room, ids))).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("at most 10 attachments") });
    expect(await domainError(send(alice, room, [ids[0]!, ids[0]!]))).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("listed twice") });
    const { message } = await send(alice, room, ids.slice(0, 10));
    expect(message.attachments.map((attachment) => attachment.fileId)).toEqual(ids.slice(0, 10));
    expect(message.kind).toBe("file");
  });

  it("refuses a file of another room, someone else's file, an upload not completed and a file already sent", async () => {
    const [alice, bob] = await createUsers(deps, 2);
    const room = await roomOf(alice, bob);
    const elsewhere = await roomOf(alice);
    const other = await upload(alice, elsewhere, "other.pdf", "application/pdf", PDF);
    expect(await domainError(send(alice, room, [other]))).toMatchObject({ code: "BAD_REQUEST", reason: "ATTACHMENT_ROOM" });

    const bobs = await upload(bob, room, "bob.pdf", "application/pdf", PDF);
    expect(await domainError(send(alice, room, [bobs]))).toMatchObject({ code: "NOT_FOUND", message: "attachments: no such file" });
    expect(await domainError(send(alice, room, [crypto.randomUUID()]))).toMatchObject({ code: "NOT_FOUND", message: "attachments: no such file" });

    const pending = await upload(alice, room, "half.pdf", "application/pdf", PDF, false);
    expect(await domainError(send(alice, room, [pending]))).toMatchObject({ code: "CONFLICT", reason: "FILE_NOT_READY" });

    const once = await upload(alice, room, "once.pdf", "application/pdf", PDF);
    await send(alice, room, [once], "first");
    expect(await domainError(send(alice, room, [once], "again"))).toMatchObject({ code: "CONFLICT", reason: "FILE_ATTACHED" });

    // Nothing was sent by the refusals.
    const page = await deps.services.messages.list(alice.id, { roomId: room.id, limit: 10 });
    expect(page.messages.map((message) => message.body)).toEqual(["first"]);
  });

  it("attaches a file once when two sends in one batch name it: the first wins", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const pdf = await upload(alice, room, "race.pdf", "application/pdf", PDF);
    const outcomes = await Promise.allSettled([send(alice, room, [pdf], "one"), send(alice, room, [pdf], "two")]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(["fulfilled", "rejected"]);
    const refused = outcomes.find((outcome) => outcome.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: "CONFLICT", reason: "FILE_ATTACHED" });
  });

  it("answers a retry with the original, and refuses the same clientMsgId with other attachments", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const [a, b] = [await upload(alice, room, "a.pdf", "application/pdf", PDF), await upload(alice, room, "b.pdf", "application/pdf", PDF)];
    const clientMsgId = token();
    const first = await deps.services.messages.send(alice.id, { roomId: room.id, clientMsgId, body: "", attachments: [a] });
    const retry = await deps.services.messages.send(alice.id, { roomId: room.id, clientMsgId, body: "", attachments: [a] });
    expect(retry).toEqual({ message: first.message, created: false });
    expect(await domainError(deps.services.messages.send(alice.id, { roomId: room.id, clientMsgId, body: "", attachments: [b] }))).toMatchObject({
      code: "CONFLICT",
    });
  });

  it("refuses attachments once the room stops taking them, and a body-less send without files", async () => {
    const [alice] = await createUsers(deps, 1);
    const room = await roomOf(alice);
    const pdf = await upload(alice, room, "late.pdf", "application/pdf", PDF);
    expect(await domainError(send(alice, room, []))).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("body must not be empty") });
    await deps.services.rooms.update(alice.id, { roomId: room.id, settings: { attachmentsAllowed: false } });
    expect(await domainError(send(alice, room, [pdf]))).toMatchObject({ code: "FORBIDDEN", reason: "ATTACHMENTS_OFF" });
  });

  it("deletes a message's files with it: no URL from the commit on, the objects removed by the outbox job", async () => {
    const [alice, bob] = await createUsers(deps, 2);
    const room = await roomOf(alice, bob);
    const image = await upload(alice, room, "gone.png", "image/png", await photo(64, 64));
    const { message } = await send(alice, room, [image], "soon gone");
    expect(await storage.head(`files/${image}`)).not.toBeNull();

    const deleted = await deps.services.messageChanges.delete(alice.id, { messageId: message.id });
    expect(deleted).toMatchObject({ attachments: [], body: "" });
    expect(await domainError(deps.services.files.url(bob.id, { fileId: image }))).toMatchObject({ code: "NOT_FOUND" });
    expect(await domainError(deps.services.files.url(alice.id, { fileId: image }))).toMatchObject({ code: "NOT_FOUND" });

    const [job] = await deps.database.db.select().from(jobs).where(eq(jobs.idempotencyKey, `files.deleteObjects:message:${message.id}`));
    expect(job).toMatchObject({ kind: "files.deleteObjects", status: "queued" });
    const handlers = createFileJobHandlers({ database: deps.database, storage });
    const payload = job!.payload as JobPayloads["files.deleteObjects"];
    expect(payload.keys).toContain(`files/${image}`);
    await handlers["files.deleteObjects"](payload);
    await handlers["files.deleteObjects"](payload); // a job runs at least once: again is harmless
    for (const key of payload.keys) expect(await storage.head(key)).toBeNull();
  });
});
