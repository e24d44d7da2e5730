import { QueryClient } from "@tanstack/query-core";
import { createTRPCClient } from "@trpc/client";
import { createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { describe, expect, it } from "vitest";
import type { AppRouter, Message, MyRoom, ServerEvent, UserPublic } from "../../src/contract.ts";
import { messageFixture } from "../../test/support/message-fixture.ts";
import { createEmitter } from "../src/emitter.ts";
import { createBlockedUsers } from "../src/realtime/blocked-users.ts";
import type { RealtimeEvents } from "../src/realtime/realtime-client.ts";
import { createRoomView } from "../src/realtime/room-view.ts";
import { bridgeQueryCache } from "../src/tanstack-query.ts";
import { scriptedRoom } from "./support/scripted-room.ts";
import { DEFAULT_ROOM_SETTINGS } from "../../src/domain/rooms/rooms.schema.ts";

/**
 * Pushed events are shared by every member, so the server cannot flag a blocked sender's messages in them for one
 * reader: the SDK does, from the blocked set it reads (users.blocked) and keeps (block.updated).
 */

const ME: UserPublic = { id: crypto.randomUUID(), username: "me", displayName: "Me" };
const ANN: UserPublic = { id: crypto.randomUUID(), username: "ann", displayName: "Ann" };
const BOB: UserPublic = { id: crypto.randomUUID(), username: "bob", displayName: "Bob" };

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe("blocked users, as the SDK keeps them", () => {
  it("reads users.blocked once wanted, then follows block.updated; a list read across a change is read again", async () => {
    const lists: string[][] = [[ANN.id], [ANN.id, BOB.id]];
    let reads = 0;
    const blocked = createBlockedUsers({ list: async () => lists[Math.min(reads++, lists.length - 1)]!, onError: (error) => { throw error; } });
    blocked.ready(); // nobody wants it yet: nothing is read
    expect(reads).toBe(0);
    const changes: boolean[] = [];
    blocked.subscribe(() => changes.push(blocked.has(ANN.id)));
    blocked.updated({ type: "block.updated", userId: BOB.id, blocked: true }); // lands while the first read is in flight
    await tick();
    await tick();
    expect(reads).toBe(2);
    expect([blocked.known(), blocked.has(ANN.id), blocked.has(BOB.id)]).toEqual([true, true, true]);
    blocked.updated({ type: "block.updated", userId: ANN.id, blocked: false });
    expect(blocked.has(ANN.id)).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it("signed out, a subscriber reads nothing (it would be a 401) until the first ready of a signed-in socket", async () => {
    let signedIn = false;
    let reads = 0;
    const blocked = createBlockedUsers({ list: async () => (reads++, [ANN.id]), signedIn: () => signedIn, onError: (error) => { throw error; } });
    blocked.subscribe(() => {});
    await tick();
    expect([reads, blocked.known()]).toEqual([0, false]);
    signedIn = true;
    blocked.ready();
    await tick();
    expect([reads, blocked.known(), blocked.has(ANN.id)]).toEqual([1, true, true]);
  });
});

describe("room view: messages of people I blocked", () => {
  it("flags their live and paged messages senderBlocked from the blocked set, and unflags them on unblock", () => {
    const room = scriptedRoom();
    room.send(ANN, "before");
    const ids = new Set([ANN.id]);
    const view = createRoomView({ roomId: room.roomId, userId: ME.id, page: room.list(ME), blocked: { known: () => true, has: (id) => ids.has(id) } });
    view.apply(room.send(BOB, "from bob"));
    view.apply(room.send(ANN, "after"));
    const flags = (): [string, boolean][] => view.messages().map((message: Message) => [message.body, message.senderBlocked === true]);
    expect(flags()).toEqual([
      ["before", true],
      ["from bob", false],
      ["after", true],
    ]);
    const first = view.messages();
    expect(view.messages()).toBe(first); // the same array until something changes
    ids.delete(ANN.id);
    view.blockedChanged();
    expect(flags()).toEqual([
      ["before", false],
      ["from bob", false],
      ["after", false],
    ]);
  });

  it("keeps the server's flags while the set is not known yet", () => {
    const room = scriptedRoom();
    const page = room.list(ME);
    const view = createRoomView({ roomId: room.roomId, userId: ME.id, page, blocked: { known: () => false, has: () => true } });
    view.apply(room.send(ANN, "hi"));
    expect(view.messages().map((message) => message.senderBlocked)).toEqual([undefined]);
  });
});

describe("bridgeQueryCache: messages of people I blocked", () => {
  it("caches them flagged and counts them neither unread nor as mentions in rooms.list", async () => {
    const queryClient = new QueryClient();
    const trpc = createTRPCOptionsProxy<AppRouter>({ client: createTRPCClient<AppRouter>({ links: [] }), queryClient });
    const realtime = createEmitter<RealtimeEvents>((error) => {
      throw error;
    });
    const blocked = createBlockedUsers({ list: async () => [ANN.id], onError: (error) => { throw error; } });
    const stop = bridgeQueryCache({ realtime, queryClient, blocked });
    await tick();
    const roomId = crypto.randomUUID();
    const listed: MyRoom = {
      id: roomId, kind: "public", name: "r", description: "", createdAt: new Date(0).toISOString(), lastSeq: 0, role: "member",
      lastMessage: null, peer: null, readSeq: 0, deliveredSeq: 0, unread: 0, unreadMentions: 0, epoch: 1, avatarFileId: null,
      settings: DEFAULT_ROOM_SETTINGS,
    };
    queryClient.setQueryData(trpc.rooms.list.queryKey(), [listed]);
    const emit = (event: ServerEvent): void => realtime.emit(event.type, event as never);
    emit({ type: "ready", connectionId: crypto.randomUUID(), userId: ME.id, rooms: [] });
    const message = (seq: number, sender: UserPublic, body: string): Message =>
      messageFixture({ id: `${roomId}-${seq}`, roomId, seq, sender, body, mentions: [ME.id], createdAt: new Date(seq * 1000).toISOString() });
    emit({ type: "message.created", roomId, seq: 1, message: message(1, ANN, "@me hi") });
    emit({ type: "message.created", roomId, seq: 2, message: message(2, BOB, "@me hello") });
    const [after] = queryClient.getQueryData<MyRoom[]>(trpc.rooms.list.queryKey()) ?? [];
    expect(after).toMatchObject({ lastSeq: 2, unread: 1, unreadMentions: 1 });
    emit({ type: "message.created", roomId, seq: 3, message: message(3, ANN, "@me again") });
    const [last] = queryClient.getQueryData<MyRoom[]>(trpc.rooms.list.queryKey()) ?? [];
    expect(last).toMatchObject({ lastSeq: 3, unread: 1, unreadMentions: 1, lastMessage: { id: `${roomId}-3`, senderBlocked: true } });
    stop();
  });
});
