import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileJobHandlers } from "../../src/domain/files/files.service.ts";
import type { FilePurpose } from "../../src/domain/files/files.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { jobs } from "../../src/infra/db/schema.ts";
import type { FileStorage } from "../../src/infra/storage/storage.ts";
import { postUpload } from "../contracts/storage.contract.ts";
import { databaseKinds } from "../support/databases.ts";
import { uniqueUsername } from "../support/factories.ts";
import { imageBytes } from "../support/images.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { openTestStorage, storageKinds } from "../support/test-storages.ts";
import { createUsers, roomWithRoles, setRole } from "./room-fixtures.ts";
import { domainError } from "./trpc-calls.ts";

const combos = databaseKinds.flatMap((db) => storageKinds.map((storage) => [db, storage] as const));

/**
 * Avatars of people (users.updateMe) and rooms (rooms.update): which files may become one, who may set it, who may
 * see it, and that a replaced avatar leaves nothing behind once the outbox has run. On each database and storage.
 */
describe.each(combos)("avatars on %s with %s storage", (kind, storageKind) => {
  let deps: TestDeps;
  let storage: FileStorage;
  let closeStorage: () => Promise<void>;
  beforeAll(async () => {
    ({ storage, close: closeStorage } = await openTestStorage(storageKind));
    deps = await createTestDeps(kind, { files: { storage } });
  }, 60_000);
  afterAll(async () => {
    await deps?.close();
    await closeStorage?.();
  });

  /** Uploads a 600×400 PNG for `purpose` and, unless told otherwise, completes it; returns the file's id. */
  async function uploadImage(user: UserPublic, purpose: FilePurpose, options: { roomId?: string; complete?: false } = {}): Promise<string> {
    const bytes = await imageBytes("image/png", 600, 400);
    const created = await deps.services.files.createUpload(user.id, {
      purpose,
      filename: "face.png",
      contentType: "image/png",
      size: bytes.byteLength,
      ...(options.roomId && { roomId: options.roomId }),
    });
    expect((await postUpload({ ...created.upload, expiresAt: new Date(created.expiresAt) }, bytes)).status).toBe(204);
    if (options.complete !== false) await deps.services.files.complete(user.id, created.fileId);
    return created.fileId;
  }

  /**
   * Runs the deletion job a retired avatar enqueued (or the one of `idempotencyKey`), as the worker would; false when
   * there was none.
   */
  async function runDeletionOf(fileId: string, idempotencyKey = `files.deleteObjects:${fileId}`): Promise<boolean> {
    const [job] = await deps.database.db
      .select({ id: jobs.id, payload: jobs.payload })
      .from(jobs)
      .where(and(eq(jobs.kind, "files.deleteObjects"), eq(jobs.idempotencyKey, idempotencyKey), eq(jobs.status, "queued")));
    if (!job) return false;
    await createFileJobHandlers({ database: deps.database, storage })["files.deleteObjects"](job.payload as { keys: string[] });
    await deps.database.db.update(jobs).set({ status: "done" }).where(eq(jobs.id, job.id));
    return true;
  }

  async function stored(fileId: string): Promise<{ original: boolean; thumbnail: boolean }> {
    return {
      original: (await storage.head(`files/${fileId}`)) !== null,
      thumbnail: (await storage.head(`thumbs/${fileId}.webp`)) !== null,
    };
  }

  const thumbnailOf = async (viewer: UserPublic, fileId: string): Promise<Response> =>
    fetch((await deps.services.files.url(viewer.id, { fileId, variant: "thumbnail" })).url);

  describe("users.updateMe avatarFileId", () => {
    it("sets my avatar: my profile and users.get show it, and anyone signed in may fetch it", async () => {
      const [me, stranger] = await createUsers(deps, 2);
      const fileId = await uploadImage(me, "avatar");
      expect(await deps.services.users.updateMe(me.id, { avatarFileId: fileId })).toMatchObject({ avatarFileId: fileId });
      expect(await deps.services.users.get(stranger.id, me.id)).toMatchObject({ avatarFileId: fileId });
      const thumbnail = await thumbnailOf(stranger, fileId);
      expect(thumbnail.status).toBe(200);
      expect(thumbnail.headers.get("content-type")).toBe("image/webp");
      expect((await fetch((await deps.services.files.url(stranger.id, { fileId })).url)).status).toBe(200);
    });

    it("replaces and clears it: the avatar before is gone at once, and its objects once the outbox has run", async () => {
      const [me, stranger] = await createUsers(deps, 2);
      const first = await uploadImage(me, "avatar");
      const second = await uploadImage(me, "avatar");
      await deps.services.users.updateMe(me.id, { avatarFileId: first });
      expect(await deps.services.users.updateMe(me.id, { avatarFileId: second })).toMatchObject({ avatarFileId: second });
      expect(await domainError(deps.services.files.url(stranger.id, { fileId: first, variant: "thumbnail" }))).toMatchObject({ code: "NOT_FOUND" });
      expect(await stored(first)).toEqual({ original: true, thumbnail: true }); // not before the job
      expect(await runDeletionOf(first)).toBe(true);
      expect(await stored(first)).toEqual({ original: false, thumbnail: false });
      // Setting the same avatar again retires nothing.
      await deps.services.users.updateMe(me.id, { avatarFileId: second });
      expect(await runDeletionOf(second)).toBe(false);

      expect(await deps.services.users.updateMe(me.id, { avatarFileId: null })).toMatchObject({ avatarFileId: null });
      expect(await deps.services.users.get(stranger.id, me.id)).toMatchObject({ avatarFileId: null });
      expect(await runDeletionOf(second)).toBe(true);
      expect(await stored(second)).toEqual({ original: false, thumbnail: false });
      // A retired avatar cannot come back.
      expect(await domainError(deps.services.users.updateMe(me.id, { avatarFileId: first }))).toMatchObject({ code: "NOT_FOUND" });
    });

    it("refuses another's file, an unknown one (NOT_FOUND), and my own that is pending or uploaded for something else (BAD_REQUEST)", async () => {
      const [me, other] = await createUsers(deps, 2);
      const room = await roomWithRoles(deps, me, "private", []);
      const current = await uploadImage(me, "avatar");
      await deps.services.users.updateMe(me.id, { avatarFileId: current });
      const refusals = [
        [await uploadImage(other, "avatar"), "NOT_FOUND"],
        [crypto.randomUUID(), "NOT_FOUND"],
        [await uploadImage(me, "avatar", { complete: false }), "BAD_REQUEST"],
        [await uploadImage(me, "attachment", { roomId: room.id }), "BAD_REQUEST"],
        [await uploadImage(me, "roomAvatar", { roomId: room.id }), "BAD_REQUEST"],
      ] as const;
      for (const [fileId, code] of refusals) {
        expect(await domainError(deps.services.users.updateMe(me.id, { avatarFileId: fileId, bio: "changed" })), code).toMatchObject({ code });
      }
      // Nothing changed behind the refusals: not the avatar, not the rest of the update.
      expect(await deps.services.users.get(other.id, me.id)).toMatchObject({ avatarFileId: current, bio: "" });
      expect(await runDeletionOf(current)).toBe(false);
    });

    it("goes with the account: auth.deleteAccount retires the avatar (account-deletion.test.ts has the rest)", async () => {
      const username = uniqueUsername("faces");
      const password = "a long enough passphrase";
      const meta = { ip: "203.0.113.9", userAgent: "spec" };
      const tokens = await deps.services.auth.register({ email: `${username}@example.test`, username, password, refreshTokenIn: "body" }, meta);
      const me = tokens.user;
      const fileId = await uploadImage(me, "avatar");
      await deps.services.users.updateMe(me.id, { avatarFileId: fileId });
      await deps.services.auth.deleteAccount(await deps.services.auth.verifyAccessToken(tokens.accessToken), { password }, meta);
      const [viewer] = await createUsers(deps, 1);
      expect(await deps.services.users.get(viewer.id, me.id)).toMatchObject({ deleted: true, avatarFileId: null });
      expect(await runDeletionOf(fileId, `files.deleteObjects:account:${me.id}`)).toBe(true);
      expect(await stored(fileId)).toEqual({ original: false, thumbnail: false });
    });
  });

  describe("rooms.update avatarFileId", () => {
    it("is set by an admin: the room, its room.updated event and the audit log carry it; the old one is retired", async () => {
      const [owner, admin, member] = await createUsers(deps, 3);
      const room = await roomWithRoles(deps, owner, "private", [[admin, "admin"], [member, "member"]]);
      const events = await deps.recordEvents({ roomId: room.id });
      const first = await uploadImage(admin, "roomAvatar", { roomId: room.id });
      const updated = await deps.services.rooms.update(admin.id, { roomId: room.id, avatarFileId: first });
      expect(updated.avatarFileId).toBe(first);
      expect(await deps.services.rooms.get(member.id, room.id)).toMatchObject({ avatarFileId: first });
      await expect.poll(() => events.find((event) => event.type === "room.updated")).toMatchObject({ room: { avatarFileId: first } });
      const [entry] = (await deps.services.rooms.auditLog(owner.id, { roomId: room.id, limit: 1 })).items;
      expect(entry).toMatchObject({ action: "room.updated", actor: { id: admin.id }, data: { avatarFileId: { from: null, to: first } } });
      expect((await thumbnailOf(member, first)).status).toBe(200);

      // The owner replaces it with one of their own; the admin's is deleted.
      const second = await uploadImage(owner, "roomAvatar", { roomId: room.id });
      await deps.services.rooms.update(owner.id, { roomId: room.id, avatarFileId: second });
      expect(await domainError(deps.services.files.url(member.id, { fileId: first }))).toMatchObject({ code: "NOT_FOUND" });
      expect(await runDeletionOf(first)).toBe(true);
      expect(await stored(first)).toEqual({ original: false, thumbnail: false });
      expect((await deps.services.rooms.update(owner.id, { roomId: room.id, avatarFileId: null })).avatarFileId).toBeNull();
      expect(await runDeletionOf(second)).toBe(true);
    });

    it("is shown to members, and to anyone for a public room; outsiders of a private room get NOT_FOUND", async () => {
      const [owner, member, outsider] = await createUsers(deps, 3);
      for (const kind of ["private", "public"] as const) {
        const room = await roomWithRoles(deps, owner, kind, [[member, "member"]]);
        const fileId = await uploadImage(owner, "roomAvatar", { roomId: room.id });
        await deps.services.rooms.update(owner.id, { roomId: room.id, avatarFileId: fileId });
        expect((await thumbnailOf(member, fileId)).status, kind).toBe(200);
        if (kind === "public") expect((await thumbnailOf(outsider, fileId)).status).toBe(200);
        else expect(await domainError(deps.services.files.url(outsider.id, { fileId, variant: "thumbnail" }))).toMatchObject({ code: "NOT_FOUND" });
      }
    });

    it("refuses those who may not change the room's settings, at the upload and at the update", async () => {
      const [owner, moderator, formerAdmin] = await createUsers(deps, 3);
      const room = await roomWithRoles(deps, owner, "public", [[moderator, "moderator"], [formerAdmin, "admin"]]);
      expect(await domainError(uploadImage(moderator, "roomAvatar", { roomId: room.id }))).toMatchObject({ code: "FORBIDDEN" });
      // Uploaded while an admin, set after being made a moderator: refused.
      const fileId = await uploadImage(formerAdmin, "roomAvatar", { roomId: room.id });
      await setRole(deps, room.id, formerAdmin.id, "moderator");
      expect(await domainError(deps.services.rooms.update(formerAdmin.id, { roomId: room.id, avatarFileId: fileId }))).toMatchObject({ code: "FORBIDDEN" });
      expect(await domainError(deps.services.rooms.update(moderator.id, { roomId: room.id, avatarFileId: null }))).toMatchObject({ code: "FORBIDDEN" });
      expect((await deps.services.rooms.get(owner.id, room.id)).avatarFileId).toBeNull();
    });

    it("refuses a file that is not this room's avatar uploaded by the caller", async () => {
      const [owner, admin] = await createUsers(deps, 2);
      const room = await roomWithRoles(deps, owner, "private", [[admin, "admin"]]);
      const elsewhere = await roomWithRoles(deps, owner, "private", []);
      const refusals = [
        ["another admin's", await uploadImage(admin, "roomAvatar", { roomId: room.id }), "NOT_FOUND"],
        ["unknown", crypto.randomUUID(), "NOT_FOUND"],
        ["another room's", await uploadImage(owner, "roomAvatar", { roomId: elsewhere.id }), "BAD_REQUEST"],
        ["a user avatar", await uploadImage(owner, "avatar"), "BAD_REQUEST"],
        ["an attachment", await uploadImage(owner, "attachment", { roomId: room.id }), "BAD_REQUEST"],
        ["a pending", await uploadImage(owner, "roomAvatar", { roomId: room.id, complete: false }), "BAD_REQUEST"],
      ] as const;
      for (const [what, fileId, code] of refusals) {
        expect(await domainError(deps.services.rooms.update(owner.id, { roomId: room.id, name: "renamed", avatarFileId: fileId })), what).toMatchObject({ code });
      }
      expect(await deps.services.rooms.get(owner.id, room.id)).toMatchObject({ name: room.name, avatarFileId: null, lastSeq: room.lastSeq });
    });
  });
});
