import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ROOM_SETTINGS, type MemberRole, type Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { logReader } from "../support/room-log.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, roomWithRoles } from "./room-fixtures.ts";
import { callerFor, inputIssues, trpcError } from "./trpc-calls.ts";

/**
 * Room settings: every room has them (the defaults until an admin changes them with rooms.update), they travel on
 * the room (rooms.get, room.updated — so a resumed client sees a change), each change is audited field by field,
 * and a room's maxMembers caps who can get in.
 */
describe.each(databaseKinds)("room settings on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind, { limits: { roomMaxMembers: 50 } });
  });
  afterAll(async () => {
    await deps?.close();
  });

  const api = (user: UserPublic) => callerFor(deps.services, user.id);

  const roomWith = (owner: UserPublic, ...others: [UserPublic, MemberRole][]): Promise<Room> => roomWithRoles(deps, owner, "public", others);

  it("gives every new room the defaults: server member limit, whole history, everyone posts, attachments, no slow mode", async () => {
    const [owner] = await createUsers(deps, 1);
    const room = await roomWith(owner);
    expect(room.settings).toEqual({
      maxMembers: null,
      historyVisibility: "all",
      postPolicy: "everyone",
      attachmentsAllowed: true,
      slowModeSeconds: 0,
      membersCanInvite: false,
    });
    expect(room.settings).toEqual(DEFAULT_ROOM_SETTINGS);
  });

  it("lets an admin change any of them; the room.updated event carries them, also when replayed from Postgres", async () => {
    const [owner, admin] = await createUsers(deps, 2);
    const room = await roomWith(owner, [admin, "admin"]);
    const events = await deps.recordEvents({ roomId: room.id });
    const settings = {
      maxMembers: 20,
      historyVisibility: "sinceJoin",
      postPolicy: "moderators",
      attachmentsAllowed: false,
      slowModeSeconds: 30,
      membersCanInvite: true,
    } as const;
    const updated = await api(admin).rooms.update({ roomId: room.id, settings });
    expect(updated).toEqual({ ...room, lastSeq: room.lastSeq + 1, settings });
    expect(await deps.services.rooms.get(owner.id, room.id)).toEqual(updated);
    await settle();
    expect(events).toEqual([{ type: "room.updated", roomId: room.id, seq: room.lastSeq + 1, room: updated }]);
    await deps.recentEvents.forget(room.id);
    expect(await logReader(deps.services.roomLog).events(room.id, room.lastSeq)).toEqual([
      { type: "room.updated", roomId: room.id, seq: room.lastSeq + 1, room: updated },
    ]);
    // Only what is named changes; null gives the room back the server's member limit.
    const again = await api(owner).rooms.update({ roomId: room.id, settings: { maxMembers: null, slowModeSeconds: 0 } });
    expect(again.settings).toEqual({ ...settings, maxMembers: null, slowModeSeconds: 0 });
  });

  it("audits each changed field from → to, with name and description beside the settings; unchanged ones are left out", async () => {
    const [owner] = await createUsers(deps, 1);
    const room = await roomWith(owner);
    await api(owner).rooms.update({
      roomId: room.id,
      name: "renamed",
      settings: { slowModeSeconds: 10, postPolicy: "everyone", historyVisibility: "sinceJoin", maxMembers: 5 },
    });
    const [entry] = (await api(owner).rooms.auditLog({ roomId: room.id })).items;
    expect(entry).toMatchObject({
      action: "room.updated",
      actor: owner,
      seq: room.lastSeq + 1,
      data: {
        name: { from: room.name, to: "renamed" },
        slowModeSeconds: { from: 0, to: 10 },
        historyVisibility: { from: "all", to: "sinceJoin" },
        maxMembers: { from: null, to: 5 },
      },
    });
    expect(Object.keys(entry?.data ?? {}).sort()).toEqual(["historyVisibility", "maxMembers", "name", "slowModeSeconds"]);
  });

  it("refuses moderators and members (admins and owners only), outsiders, and direct rooms", async () => {
    const [owner, mod, member, outsider] = await createUsers(deps, 4);
    const room = await roomWith(owner, [mod, "moderator"], [member, "member"]);
    for (const who of [mod, member]) {
      expect(await trpcError(api(who).rooms.update({ roomId: room.id, settings: { slowModeSeconds: 5 } }))).toMatchObject({
        code: "FORBIDDEN",
        message: "only owners and admins can update the room",
      });
    }
    expect(await trpcError(api(outsider).rooms.update({ roomId: room.id, settings: { slowModeSeconds: 5 } }))).toMatchObject({
      code: "FORBIDDEN",
      message: "not a member of this room",
    });
    const direct = await deps.services.rooms.openDirect(owner.id, member.id);
    expect(await trpcError(api(owner).rooms.update({ roomId: direct.id, settings: { slowModeSeconds: 5 } }))).toMatchObject({
      code: "BAD_REQUEST",
      message: "direct rooms cannot be updated",
    });
    expect((await deps.services.rooms.get(owner.id, room.id)).settings).toEqual(DEFAULT_ROOM_SETTINGS);
  });

  it("refuses settings out of range, unknown ones and an empty change", async () => {
    const [owner] = await createUsers(deps, 1);
    const room = await roomWith(owner);
    const update = (settings: unknown) => api(owner).rooms.update({ roomId: room.id, settings } as never);
    expect(await inputIssues(update({ slowModeSeconds: 21_601 }))).toEqual(["Too big: expected number to be <=21600"]);
    expect(await inputIssues(update({ slowModeSeconds: -1 }))).toEqual(["Too small: expected number to be >=0"]);
    expect(await inputIssues(update({ slowModeSeconds: 1.5 }))).toEqual(["Invalid input: expected int, received number"]);
    expect(await inputIssues(update({ maxMembers: 1 }))).toEqual(["Too small: expected number to be >=2"]);
    expect(await inputIssues(update({ historyVisibility: "never" }))).toHaveLength(1);
    expect(await inputIssues(update({ postPolicy: "admins" }))).toHaveLength(1);
    expect(await inputIssues(update({ colour: "red" }))).toContain('Unrecognized key: "colour"');
    expect(await inputIssues(update({}))).toEqual(["change at least one of name, description, avatarFileId, settings"]);
    // Above the server's ROOM_MAX_MEMBERS (50 here): the room cannot promise more than the server allows.
    expect(await trpcError(update({ maxMembers: 51 }))).toMatchObject({
      code: "BAD_REQUEST",
      message: "settings.maxMembers must be at most 50 (the server's limit)",
    });
    expect((await api(owner).rooms.update({ roomId: room.id, settings: { maxMembers: 50 } })).settings.maxMembers).toBe(50);
  });

  describe("maxMembers", () => {
    it("refuses a join, or accepting an invitation, past the room's own limit with ROOM_FULL", async () => {
      const [owner, ann, bob] = await createUsers(deps, 3);
      const room = await roomWith(owner);
      await api(owner).rooms.update({ roomId: room.id, settings: { maxMembers: 2 } });
      await deps.services.rooms.join(ann.id, room.id);
      const refused = await trpcError(api(bob).rooms.join({ roomId: room.id }));
      expect(refused).toMatchObject({ code: "FORBIDDEN", message: "this room is full (2 members)" });
      expect(refused.cause).toMatchObject({ reason: "ROOM_FULL" });
      // An invitation may wait for a seat; taking it up is what the limit refuses.
      const { invitationId } = await api(owner).rooms.invite({ roomId: room.id, userId: bob.id });
      const accepting = await trpcError(api(bob).rooms.acceptInvite({ invitationId: invitationId ?? "" }));
      expect(accepting.cause).toMatchObject({ reason: "ROOM_FULL" });
    });

    it("removes nobody when lowered below the count, keeps newcomers out until enough leave, and null restores the server's", async () => {
      const [owner, ann, bob, cat] = await createUsers(deps, 4);
      const room = await roomWith(owner, [ann, "member"], [bob, "member"]);
      await api(owner).rooms.update({ roomId: room.id, settings: { maxMembers: 2 } });
      const members = await api(owner).rooms.members({ roomId: room.id });
      expect(members.items.map((member) => member.user.id).sort()).toEqual([owner.id, ann.id, bob.id].sort());
      expect(await trpcError(api(cat).rooms.join({ roomId: room.id }))).toMatchObject({ message: "this room is full (2 members)" });
      await deps.services.rooms.leave(bob.id, room.id);
      expect(await trpcError(api(cat).rooms.join({ roomId: room.id }))).toMatchObject({ message: "this room is full (2 members)" });
      await deps.services.rooms.leave(ann.id, room.id);
      await deps.services.rooms.join(cat.id, room.id);
      await api(owner).rooms.update({ roomId: room.id, settings: { maxMembers: null } });
      await deps.services.rooms.join(bob.id, room.id);
      expect(await deps.services.rooms.requireMember(bob.id, room.id)).toBe("member");
    });
  });
});
