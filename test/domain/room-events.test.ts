import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoggedRoomEvent } from "../../src/domain/events.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser } from "../support/factories.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { token } from "./room-fixtures.ts";
import { callerFor, inputIssues, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

/**
 * `rooms.events`: the room's log paged after a seq — for a client told `recovered: false`, or one catching up past
 * what resume replays. Everything that took a seq is there, in order, each as it is now.
 */
describe.each(databaseKinds)("rooms.events on %s", (kind) => {
  let deps: TestDeps;
  let ann: UserPublic;
  let bob: UserPublic;
  let roomId: string;
  let epoch: number;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
    [ann, bob] = [await createUser(deps.database), await createUser(deps.database)];
    const room = await deps.services.rooms.create(ann.id, { name: token(), kind: "public" });
    ({ id: roomId, epoch } = room);
    await deps.services.rooms.join(bob.id, roomId); // 1
    for (let i = 1; i <= 5; i++) await deps.services.messages.send(i % 2 ? ann.id : bob.id, { roomId, clientMsgId: `events-${i}-${token()}`, body: `#${i}` }); // 2…6
    await deps.services.rooms.update(ann.id, { roomId, name: "renamed" }); // 7
    await deps.services.rooms.leave(bob.id, roomId); // 8
  });
  afterAll(async () => {
    await deps?.close();
  });

  const types = (events: LoggedRoomEvent[]): string[] => events.map((event) => `${event.seq} ${event.type}`);

  it("pages every event after a seq in order, with the position and epoch it was read at", async () => {
    const api = callerFor(deps.services, ann.id);
    const first = await api.rooms.events({ roomId, after: 0, limit: 3 });
    expect(types(first.events)).toEqual(["1 member.joined", "2 message.created", "3 message.created"]);
    expect(first).toMatchObject({ lastSeq: 8, epoch, hasMore: true });
    const rest = await api.rooms.events({ roomId, after: 3 });
    expect(types(rest.events)).toEqual(["4 message.created", "5 message.created", "6 message.created", "7 room.updated", "8 member.left"]);
    expect(rest.hasMore).toBe(false);
    expect(await api.rooms.events({ roomId, after: 8 })).toEqual({ events: [], lastSeq: 8, epoch, hasMore: false });
    // Past the end is not an error: nothing follows it (yet).
    expect(await api.rooms.events({ roomId, after: 50 })).toMatchObject({ events: [], lastSeq: 8, hasMore: false });
  });

  it("builds each event from what it is about as it is now", async () => {
    const { events } = await callerFor(deps.services, ann.id).rooms.events({ roomId, after: 0, limit: 100 });
    expect(events[0]).toEqual({ type: "member.joined", roomId, seq: 1, member: { user: bob, role: "member" } });
    expect(events[1]).toMatchObject({ type: "message.created", seq: 2, message: { seq: 2, body: "#1", sender: ann } });
    expect(events[6]).toMatchObject({ type: "room.updated", seq: 7, room: { id: roomId, name: "renamed", lastSeq: 7, epoch } });
    expect(events[7]).toEqual({ type: "member.left", roomId, seq: 8, userId: bob.id, reason: "left" });
    const listed = await deps.services.messages.list(ann.id, { roomId, limit: 100 });
    expect(events.flatMap((event) => (event.type === "message.created" ? [event.message] : []))).toEqual(listed.messages);
  });

  it("is for members only: an outsider, a member who left and a room that does not exist are refused alike", async () => {
    const outsider = await createUser(deps.database);
    for (const [userId, room] of [[outsider.id, roomId], [bob.id, roomId], [ann.id, crypto.randomUUID()]] as const) {
      expect(await trpcError(callerFor(deps.services, userId).rooms.events({ roomId: room, after: 0 }))).toMatchObject(NOT_A_MEMBER);
    }
  });

  it("refuses bad positions, page sizes, ids and unknown fields with BAD_REQUEST", async () => {
    const api = callerFor(deps.services, ann.id);
    for (const input of [
      { roomId, after: -1 },
      { roomId, after: 1.5 },
      { roomId, after: Number.MAX_SAFE_INTEGER + 2 },
      { roomId, after: "3" },
      { roomId, after: 0, limit: 0 },
      { roomId, after: 0, limit: 501 },
      { roomId: "not-a-room", after: 0 },
      { roomId, after: 0, extra: true },
      { roomId },
    ]) {
      expect((await inputIssues(api.rooms.events(input as never))).length, JSON.stringify(input)).toBeGreaterThan(0);
    }
  });
});
