import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { createCaller } from "../../src/transport/trpc/app-router.ts";
import { createInnerContext } from "../../src/transport/trpc/context.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser } from "../support/factories.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { token } from "./room-fixtures.ts";
import { type Caller, callerFor, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

/** Every room-scoped procedure, as an outsider would call it on `roomId`. */
function roomProcedures(caller: Caller, victim: UserPublic): Record<string, (roomId: string) => Promise<unknown>> {
  return {
    "rooms.get": (roomId) => caller.rooms.get({ roomId }),
    "rooms.join": (roomId) => caller.rooms.join({ roomId }),
    "rooms.invite": (roomId) => caller.rooms.invite({ roomId, userId: victim.id }),
    "rooms.leave": (roomId) => caller.rooms.leave({ roomId }),
    "rooms.kick": (roomId) => caller.rooms.kick({ roomId, userId: victim.id }),
    "rooms.setRole": (roomId) => caller.rooms.setRole({ roomId, userId: victim.id, role: "member" }),
    "rooms.transferOwnership": (roomId) => caller.rooms.transferOwnership({ roomId, userId: victim.id }),
    "rooms.update": (roomId) => caller.rooms.update({ roomId, name: "mine now" }),
    "rooms.update (avatar)": (roomId) => caller.rooms.update({ roomId, avatarFileId: crypto.randomUUID() }),
    "rooms.members": (roomId) => caller.rooms.members({ roomId }),
    "rooms.auditLog": (roomId) => caller.rooms.auditLog({ roomId }),
    "rooms.createInviteLink": (roomId) => caller.rooms.createInviteLink({ roomId }),
    "rooms.inviteLinks": (roomId) => caller.rooms.inviteLinks({ roomId }),
    "rooms.ban": (roomId) => caller.rooms.ban({ roomId, userId: victim.id }),
    "rooms.unban": (roomId) => caller.rooms.unban({ roomId, userId: victim.id }),
    "rooms.bans": (roomId) => caller.rooms.bans({ roomId }),
    "rooms.mute": (roomId) => caller.rooms.mute({ roomId, userId: victim.id }),
    "rooms.unmute": (roomId) => caller.rooms.unmute({ roomId, userId: victim.id }),
    "rooms.mutes": (roomId) => caller.rooms.mutes({ roomId }),
    "moderation.report": (roomId) => caller.moderation.report({ userId: victim.id, roomId, reason: "spam" }),
    "moderation.reports": (roomId) => caller.moderation.reports({ roomId }),
    "messages.send": (roomId) => caller.messages.send({ roomId, clientMsgId: `out-${token()}`, body: "hello?" }),
    "messages.list": (roomId) => caller.messages.list({ roomId }),
    "messages.search": (roomId) => caller.messages.search({ query: "secret", roomId }),
    "files.createUpload": (roomId) => caller.files.createUpload({ purpose: "attachment", roomId, filename: "a.png", contentType: "image/png", size: 10 }),
    "files.createUpload (roomAvatar)": (roomId) =>
      caller.files.createUpload({ purpose: "roomAvatar", roomId, filename: "a.png", contentType: "image/png", size: 10 }),
  };
}

describe.each(databaseKinds)("room access for outsiders on %s", (kind) => {
  let deps: TestDeps;
  let owner: UserPublic;
  let outsider: UserPublic;
  let privateRoom: Room;
  let publicRoom: Room;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
    [owner, outsider] = await Promise.all([createUser(deps.database), createUser(deps.database)]);
    privateRoom = await deps.services.rooms.create(owner.id, { name: token(), kind: "private" });
    publicRoom = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
    await deps.services.messages.send(owner.id, { roomId: privateRoom.id, clientMsgId: `secret-${token()}`, body: "secret" });
  });
  afterAll(async () => {
    await deps?.close();
  });

  it("cannot tell a private room from one that does not exist, through any procedure", async () => {
    const procedures = roomProcedures(callerFor(deps.services, outsider.id), owner);
    for (const [name, call] of Object.entries(procedures)) {
      const hidden = await trpcError(call(privateRoom.id));
      const missing = await trpcError(call(crypto.randomUUID()));
      expect({ code: hidden.code, message: hidden.message }, name).toEqual(NOT_A_MEMBER);
      expect({ code: missing.code, message: missing.message }, name).toEqual(NOT_A_MEMBER);
    }
    // Nothing changed behind the refusals.
    expect(await deps.services.rooms.get(owner.id, privateRoom.id)).toMatchObject({ name: privateRoom.name, lastSeq: 1 });
    const members = await deps.services.rooms.members(owner.id, { roomId: privateRoom.id, limit: 10 });
    expect(members.items.map((member) => member.user.id)).toEqual([owner.id]);
  });

  it("may see and join a public room, but not read or write it before joining", async () => {
    const procedures = roomProcedures(callerFor(deps.services, outsider.id), owner);
    for (const name of Object.keys(procedures).filter((name) => name !== "rooms.get" && name !== "rooms.join")) {
      expect(await trpcError(procedures[name]!(publicRoom.id)), name).toMatchObject(NOT_A_MEMBER);
    }
    expect(await procedures["rooms.get"]!(publicRoom.id)).toEqual(publicRoom);
    // Discovering it is fine too; the private room never shows up.
    const discovered = await callerFor(deps.services, outsider.id).rooms.discover({ query: publicRoom.name });
    expect(discovered.items).toEqual([publicRoom]);
    expect((await callerFor(deps.services, outsider.id).rooms.discover({ query: privateRoom.name })).items).toEqual([]);
  });

  it("requires a signed-in caller for every procedure", async () => {
    const anonymous = createCaller(createInnerContext({ services: deps.services, session: null }));
    const calls = [
      ...Object.values(roomProcedures(anonymous, owner)).map((call) => call(publicRoom.id)),
      anonymous.rooms.list(),
      anonymous.rooms.create({ name: "x", kind: "public" }),
      anonymous.rooms.openDirect({ userId: owner.id }),
      anonymous.rooms.discover({}),
      anonymous.users.get({ userId: owner.id }),
      anonymous.users.search({ query: "a" }),
      anonymous.users.block({ userId: owner.id }),
      anonymous.users.unblock({ userId: owner.id }),
      anonymous.users.blocked({}),
    ];
    for (const call of calls) expect(await trpcError(call)).toMatchObject({ code: "UNAUTHORIZED" });
  });
});
