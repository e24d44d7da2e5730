import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { createCaller } from "../../src/transport/trpc/app-router.ts";
import { createInnerContext } from "../../src/transport/trpc/context.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser } from "../support/factories.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";

describe.each(databaseKinds)("receipts and unread counts on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind, { receiptEventsMaxMembers: 3 });
  });
  afterAll(() => deps.close());

  let counter = 0;
  async function send(from: UserPublic, room: Room, body = "hi"): Promise<number> {
    counter += 1;
    const { message } = await deps.services.messages.send(from.id, { roomId: room.id, clientMsgId: `receipt-msg-${counter}`, body });
    return message.seq;
  }

  async function roomWith(owner: UserPublic, ...members: UserPublic[]): Promise<Room> {
    const room = await deps.services.rooms.create(owner.id, { name: "receipts", kind: "public" });
    for (const member of members) await deps.services.rooms.join(member.id, room.id);
    return room;
  }

  async function fourUsers(): Promise<[UserPublic, UserPublic, UserPublic, UserPublic]> {
    return [await createUser(deps.database), await createUser(deps.database), await createUser(deps.database), await createUser(deps.database)];
  }

  const myRoom = async (user: UserPublic, room: Room) => (await deps.services.rooms.list(user.id)).find((mine) => mine.id === room.id);

  it("counts unread as the messages of others after my read watermark", async () => {
    const [alice, bob] = [await createUser(deps.database), await createUser(deps.database)];
    const room = await roomWith(alice, bob); // bob's join is seq 1: an event, not a message to read
    await send(bob, room);
    await send(alice, room);
    const third = await send(bob, room);
    await send(alice, room);
    await send(bob, room);
    expect(await myRoom(alice, room)).toMatchObject({ lastSeq: 6, readSeq: 0, unread: 3 });
    const state = await deps.services.receipts.markRead(alice.id, { roomId: room.id, seq: third });
    expect(state).toEqual({ roomId: room.id, readSeq: third, deliveredSeq: third, unread: 1, unreadMentions: 0 });
    expect(await myRoom(alice, room)).toMatchObject({ readSeq: third, deliveredSeq: third, unread: 1 });
    // A watermark on a seq that is not a message (the join) counts from the newest message before it.
    expect(await deps.services.receipts.markRead(bob.id, { roomId: room.id, seq: 1 })).toMatchObject({ unread: 2 });
  });

  it("starts a new member's watermarks at the room's end: earlier history is not unread", async () => {
    const [alice, bob] = [await createUser(deps.database), await createUser(deps.database)];
    const room = await roomWith(alice);
    for (let i = 0; i < 4; i++) await send(alice, room);
    await deps.services.rooms.join(bob.id, room.id); // seq 5: the watermarks start at the join itself
    expect(await myRoom(bob, room)).toMatchObject({ readSeq: 5, deliveredSeq: 5, unread: 0 });
    await send(alice, room);
    expect(await myRoom(bob, room)).toMatchObject({ unread: 1 });
  });

  it("never moves a watermark backwards, and reading implies delivery", async () => {
    const [alice, bob] = [await createUser(deps.database), await createUser(deps.database)];
    const room = await roomWith(alice, bob);
    const seqs: number[] = [];
    for (let i = 0; i < 6; i++) seqs.push(await send(alice, room));
    const [first, second, third, fourth, , sixth] = seqs as [number, number, number, number, number, number];
    await deps.services.receipts.markDelivered(bob.id, { roomId: room.id, seq: second });
    await deps.services.receipts.markRead(bob.id, { roomId: room.id, seq: fourth });
    expect(await deps.services.receipts.markRead(bob.id, { roomId: room.id, seq: first })).toMatchObject({ readSeq: fourth, deliveredSeq: fourth });
    expect(await deps.services.receipts.markDelivered(bob.id, { roomId: room.id, seq: third })).toMatchObject({ deliveredSeq: fourth });
    expect(await deps.services.receipts.markDelivered(bob.id, { roomId: room.id, seq: sixth })).toMatchObject({
      readSeq: fourth,
      deliveredSeq: sixth,
      unread: 2,
    });
  });

  it("keeps the highest mark when two devices mark at once", async () => {
    const [alice, bob] = [await createUser(deps.database), await createUser(deps.database)];
    const room = await roomWith(alice, bob);
    const seqs: number[] = [];
    for (let i = 0; i < 20; i++) seqs.push(await send(alice, room));
    await Promise.all(seqs.map((seq) => deps.services.receipts.markRead(bob.id, { roomId: room.id, seq })));
    expect(await myRoom(bob, room)).toMatchObject({ readSeq: seqs.at(-1), unread: 0 });
  });

  it("refuses marks past the room's last message and in rooms the user is not in", async () => {
    const [alice, eve] = [await createUser(deps.database), await createUser(deps.database)];
    const room = await roomWith(alice);
    await send(alice, room);
    await expect(deps.services.receipts.markRead(alice.id, { roomId: room.id, seq: 2 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(deps.services.receipts.markRead(eve.id, { roomId: room.id, seq: 1 })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(deps.services.receipts.status(eve.id, { roomId: room.id, seq: 1, limit: 10 })).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("announces a read to the room and the new unread count to the reader's own devices", async () => {
    const [alice, bob] = [await createUser(deps.database), await createUser(deps.database)];
    const room = await roomWith(alice, bob);
    const first = await send(alice, room);
    const second = await send(alice, room);
    const roomEvents = await deps.recordEvents({ roomId: room.id });
    const bobEvents = await deps.recordEvents({ userId: bob.id });
    await deps.services.receipts.markRead(bob.id, { roomId: room.id, seq: first });
    await deps.services.receipts.markDelivered(bob.id, { roomId: room.id, seq: second });
    await settle();
    expect(roomEvents).toEqual([
      { type: "receipt.updated", roomId: room.id, userId: bob.id, deliveredSeq: first, readSeq: first },
      { type: "receipt.updated", roomId: room.id, userId: bob.id, deliveredSeq: second },
    ]);
    expect(bobEvents).toEqual([{ type: "unread.updated", roomId: room.id, readSeq: first, unread: 1, unreadMentions: 0 }]);
  });

  it("keeps private receipts, and receipts in rooms over the size limit, on the reader's own devices", async () => {
    const [alice, bob, carol, dave] = await fourUsers();
    const small = await roomWith(alice, bob);
    await deps.services.users.updateMe((bob).id, { privateReceipts: true });
    const inSmall = await send(alice, small);
    const smallRoom = await deps.recordEvents({ roomId: small.id });
    const bobEvents = await deps.recordEvents({ userId: (bob).id });
    await deps.services.receipts.markRead((bob).id, { roomId: small.id, seq: inSmall });

    const large = await roomWith(alice, carol, dave, bob); // 4 > 3
    const inLarge = await send(alice, large);
    const largeRoom = await deps.recordEvents({ roomId: large.id });
    const carolEvents = await deps.recordEvents({ userId: (carol).id });
    await deps.services.receipts.markDelivered((carol).id, { roomId: large.id, seq: inLarge });
    await settle();
    expect(smallRoom).toEqual([]);
    expect(bobEvents).toContainEqual({ type: "receipt.updated", roomId: small.id, userId: (bob).id, deliveredSeq: inSmall, readSeq: inSmall });
    expect(largeRoom).toEqual([]);
    expect(carolEvents).toEqual([{ type: "receipt.updated", roomId: large.id, userId: (carol).id, deliveredSeq: inLarge }]);
  });

  it("reports sent, delivered and read times per member from the watermark moves", async () => {
    const [alice, bob, carol, late] = await fourUsers();
    const room = await roomWith(alice, bob, carol);
    const seq = await send(alice, room);
    const next = await send(alice, room);
    deps.clock.advance(1_000);
    const deliveredAt = deps.clock.now().toISOString();
    await deps.services.receipts.markDelivered((bob).id, { roomId: room.id, seq: next });
    deps.clock.advance(5_000);
    const readAt = deps.clock.now().toISOString();
    await deps.services.receipts.markRead((bob).id, { roomId: room.id, seq: next });
    await deps.services.rooms.join((late).id, room.id);

    const status = await deps.services.receipts.status((carol).id, { roomId: room.id, seq, limit: 10 });
    expect(status).toMatchObject({ roomId: room.id, seq, senderId: (alice).id, nextCursor: null });
    const byUser = Object.fromEntries(status.members.map((member) => [member.userId, member]));
    expect(Object.keys(byUser).sort()).toEqual([(bob).id, (carol).id].sort()); // not the sender, not `late`
    expect(byUser[(bob).id]).toEqual({ userId: (bob).id, deliveredAt, readAt });
    expect(byUser[(carol).id]).toEqual({ userId: (carol).id, deliveredAt: null, readAt: null });

    const firstPage = await deps.services.receipts.status((carol).id, { roomId: room.id, seq, limit: 1 });
    const secondPage = await deps.services.receipts.status((carol).id, { roomId: room.id, seq, limit: 1, cursor: firstPage.nextCursor ?? undefined });
    expect([...firstPage.members, ...secondPage.members].map((member) => member.userId)).toEqual(status.members.map((member) => member.userId));
    await expect(deps.services.receipts.status((carol).id, { roomId: room.id, seq: 99, limit: 10 })).rejects.toMatchObject({ code: "NOT_FOUND" });

    await deps.services.users.updateMe((bob).id, { privateReceipts: true });
    const hidden = await deps.services.receipts.status((carol).id, { roomId: room.id, seq, limit: 10 });
    expect(hidden.members.find((member) => member.userId === (bob).id)).toEqual({ userId: (bob).id, deliveredAt: null, readAt: null });
    const own = await deps.services.receipts.status((bob).id, { roomId: room.id, seq, limit: 10 });
    expect(own.members.find((member) => member.userId === (bob).id)).toEqual({ userId: (bob).id, deliveredAt, readAt });
  });

  it("validates mark and status inputs at the procedure", async () => {
    const alice = await createUser(deps.database);
    const room = await roomWith(alice);
    const api = createCaller(createInnerContext({ services: deps.services, session: { userId: alice.id, sessionId: "s" } }));
    for (const input of [{ roomId: room.id, seq: 0 }, { roomId: room.id, seq: 1.5 }, { roomId: "nope", seq: 1 }, { roomId: room.id, seq: 1, extra: true }]) {
      await expect(api.messages.markRead(input as never)).rejects.toMatchObject({ code: "BAD_REQUEST" });
    }
    await expect(api.messages.status({ roomId: room.id, seq: 1, limit: 501 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    expect(await api.users.updateMe({ privateReceipts: true })).toMatchObject({ id: alice.id, privateReceipts: true });
    expect(await api.auth.me()).toMatchObject({ privateReceipts: true });
    await expect(api.users.updateMe({} as never)).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });
});
