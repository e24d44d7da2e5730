import { type InfiniteData, QueryClient, type QueryKey } from "@tanstack/query-core";
import { messageFixture } from "../../test/support/message-fixture.ts";
import { createTRPCClient } from "@trpc/client";
import { createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { afterEach, describe, expect, it } from "vitest";
import type { AppRouter, Message, MessagePage, MyRoom, Room, RoomSettings, ServerEvent, UserPublic } from "../../src/contract.ts";
import { createEmitter } from "../src/emitter.ts";
import type { RealtimeEvents } from "../src/realtime/realtime-client.ts";
import { bridgeQueryCache } from "../src/tanstack-query.ts";
import { randomScript, type ScriptedRoom, scriptedRoom } from "./support/scripted-room.ts";

/**
 * The bridge against a real QueryClient, with entries under the very keys @trpc/tanstack-react-query builds
 * (`trpc.messages.list.queryKey(input)`), fed events of the contract's ServerEvent shapes through the emitter the
 * realtime client delivers them with. No server: entries are seeded as a fetch would have left them, and a fetch in
 * flight is a query function the test resolves.
 */

const ME: UserPublic = { id: crypto.randomUUID(), username: "me", displayName: "Me" };
const ANN: UserPublic = { id: crypto.randomUUID(), username: "ann", displayName: "Ann" };
const BOB: UserPublic = { id: crypto.randomUUID(), username: "bob", displayName: "Bob" };

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

function harness(options: { keyPrefix?: string } = {}) {
  const queryClient = new QueryClient();
  const client = createTRPCClient<AppRouter>({ links: [] }); // builds keys only: nothing here is ever called
  const trpc =
    options.keyPrefix === undefined
      ? createTRPCOptionsProxy<AppRouter>({ client, queryClient })
      : createTRPCOptionsProxy<AppRouter, { keyPrefix: true }>({ client, queryClient, keyPrefix: options.keyPrefix });
  const realtime = createEmitter<RealtimeEvents>((error) => {
    throw error;
  });
  /** Every fetch any query started. */
  const fetches: QueryKey[] = [];
  stops.push(
    queryClient.getQueryCache().subscribe((event) => {
      if (event.type === "updated" && event.action.type === "fetch") fetches.push(event.query.queryKey);
    }),
  );
  stops.push(bridgeQueryCache({ realtime, queryClient, ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }) }));
  const emit = (event: ServerEvent): void => realtime.emit(event.type, event as never);
  return { queryClient, trpc, emit, fetches, invalidated: (key: QueryKey) => queryClient.getQueryState(key)?.isInvalidated === true };
}

const message = (roomId: string, seq: number, sender: UserPublic = ANN): Message =>
  messageFixture({ id: `${roomId}-${seq}`, roomId, seq, sender, body: `#${seq}`, createdAt: new Date(seq * 1000).toISOString() });
const created = (roomId: string, seq: number, sender: UserPublic = ANN): ServerEvent => ({
  type: "message.created",
  roomId,
  seq,
  message: message(roomId, seq, sender),
});
const page = (roomId: string, seqs: number[], more: { hasOlder?: boolean; hasNewer?: boolean } = {}): MessagePage => ({
  messages: seqs.map((seq) => message(roomId, seq)),
  hasOlder: more.hasOlder ?? false,
  hasNewer: more.hasNewer ?? false,
  lastSeq: seqs.at(-1) ?? 0,
});
const seqs = (data: MessagePage | undefined): number[] | undefined => data?.messages.map((m) => m.seq);
const ready = (): ServerEvent => ({ type: "ready", connectionId: crypto.randomUUID(), userId: ME.id, rooms: [] });
const SETTINGS: RoomSettings = {
  maxMembers: null,
  historyVisibility: "all",
  postPolicy: "everyone",
  attachmentsAllowed: true,
  slowModeSeconds: 0,
  membersCanInvite: false,
};
const myRoom = (id: string, seq: { lastSeq: number; readSeq: number; unread: number }): MyRoom => ({
  id,
  kind: "public",
  name: `room ${id.slice(0, 4)}`,
  description: "",
  createdAt: new Date(0).toISOString(),
  lastSeq: seq.lastSeq,
  role: "member",
  lastMessage: seq.lastSeq > 0 ? message(id, seq.lastSeq) : null,
  peer: null,
  readSeq: seq.readSeq,
  deliveredSeq: seq.readSeq,
  unread: seq.unread,
  unreadMentions: 0,
  epoch: 1,
  avatarFileId: null,
  settings: SETTINGS,
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

describe("bridgeQueryCache: messages.list", () => {
  it("appends a live message to the newest cached page of its room, in seq order and once, and fetches nothing", () => {
    const { queryClient, trpc, emit, fetches } = harness();
    const [roomA, roomB] = [crypto.randomUUID(), crypto.randomUUID()];
    const latest = trpc.messages.list.queryKey({ roomId: roomA, limit: 50 });
    const older = trpc.messages.list.queryKey({ roomId: roomA, before: 2 });
    const otherRoom = trpc.messages.list.queryKey({ roomId: roomB });
    queryClient.setQueryData(latest, page(roomA, [1, 2]));
    queryClient.setQueryData(older, page(roomA, [1], { hasNewer: true }));
    queryClient.setQueryData(otherRoom, page(roomB, [1]));
    const olderBefore = queryClient.getQueryData(older);

    emit(created(roomA, 3));
    emit(created(roomA, 3)); // delivered twice
    emit(created(roomA, 2)); // already on the page
    emit(created(roomA, 4));

    expect(seqs(queryClient.getQueryData(latest))).toEqual([1, 2, 3, 4]);
    expect(queryClient.getQueryData(latest)?.messages.at(-1)).toEqual(message(roomA, 4));
    expect(queryClient.getQueryData(older)).toBe(olderBefore); // a page that ends before the newest message
    expect(seqs(queryClient.getQueryData(otherRoom))).toEqual([1]);
    expect(fetches).toEqual([]);
  });

  it("starts an empty room's page at seq 1, and an `after` page right after its cursor", () => {
    const { queryClient, trpc, emit } = harness();
    const roomId = crypto.randomUUID();
    const empty = trpc.messages.list.queryKey({ roomId });
    const after = trpc.messages.list.queryKey({ roomId, after: 0, limit: 10 });
    queryClient.setQueryData(empty, page(roomId, []));
    queryClient.setQueryData(after, page(roomId, [], { hasOlder: true }));

    emit(created(roomId, 1));

    expect(seqs(queryClient.getQueryData(empty))).toEqual([1]);
    expect(seqs(queryClient.getQueryData(after))).toEqual([1]);
  });

  it("appends to the newest page of an infinite query kept under messages.list's key", () => {
    const { queryClient, trpc, emit } = harness();
    const roomId = crypto.randomUUID();
    const key = [...trpc.messages.list.pathKey(), { input: { roomId }, type: "infinite" }];
    const pages: InfiniteData<MessagePage> = {
      pages: [page(roomId, [3, 4], { hasOlder: true }), page(roomId, [1, 2], { hasNewer: true })],
      pageParams: [null, 3],
    };
    queryClient.setQueryData(key, pages);

    emit(created(roomId, 5));

    const data = queryClient.getQueryData<InfiniteData<MessagePage>>(key);
    expect(data?.pages.map(seqs)).toEqual([[3, 4, 5], [1, 2]]);
    expect(data?.pages[1]).toBe(pages.pages[1]);
    expect(data?.pageParams).toEqual([null, 3]);
  });

  it("never patches across a gap: a page that ends before seq − 1 is invalidated and left as it was", () => {
    const { queryClient, trpc, emit, invalidated } = harness();
    const roomId = crypto.randomUUID();
    const key = trpc.messages.list.queryKey({ roomId });
    queryClient.setQueryData(key, page(roomId, [1, 2]));

    emit(created(roomId, 5));

    expect(seqs(queryClient.getQueryData(key))).toEqual([1, 2]);
    expect(invalidated(key)).toBe(true);
  });

  it("follows the room's other logged events, so a message after a join or a rename still continues the page", () => {
    const { queryClient, trpc, emit, invalidated } = harness();
    const roomId = crypto.randomUUID();
    const key = trpc.messages.list.queryKey({ roomId });
    queryClient.setQueryData(key, page(roomId, [1, 2]));

    emit({ type: "member.joined", roomId, seq: 3, member: { user: ANN, role: "member" } });
    emit({ type: "room.updated", roomId, seq: 4, room: { id: roomId, kind: "public", name: "renamed", description: "", createdAt: new Date(0).toISOString(), lastSeq: 4, epoch: 1, avatarFileId: null, settings: SETTINGS } });
    emit(created(roomId, 5));
    emit({ type: "member.left", roomId, seq: 6, userId: ANN.id, reason: "left" });

    expect(seqs(queryClient.getQueryData(key))).toEqual([1, 2, 5]);
    expect(queryClient.getQueryData(key)?.lastSeq).toBe(6);
    expect(invalidated(key)).toBe(false);

    emit(created(roomId, 8)); // seq 7 never came: the page cannot say what happened there
    expect(invalidated(key)).toBe(true);
  });

  it("keeps a message that arrived while the page was being fetched, whether or not the fetch brings it", async () => {
    const { queryClient, trpc, emit } = harness();
    const roomId = crypto.randomUUID();
    for (const fetched of [[1, 2], [1, 2, 3]]) {
      const key = trpc.messages.list.queryKey({ roomId, limit: fetched.length });
      const response = deferred<MessagePage>();
      const fetching = queryClient.fetchQuery({ queryKey: key, queryFn: () => response.promise });

      emit(created(roomId, 3)); // the server answered the fetch before or after committing #3: either may happen

      response.resolve(page(roomId, fetched));
      await fetching;
      expect(seqs(queryClient.getQueryData(key))).toEqual([1, 2, 3]);
    }
  });

  it("invalidates the room's pages and the room list when a resume could not recover what was missed", () => {
    const { queryClient, trpc, emit, invalidated } = harness();
    const [roomId, otherRoom] = [crypto.randomUUID(), crypto.randomUUID()];
    const key = trpc.messages.list.queryKey({ roomId });
    const other = trpc.messages.list.queryKey({ roomId: otherRoom });
    const rooms = trpc.rooms.list.queryKey();
    queryClient.setQueryData(key, page(roomId, [1, 2]));
    queryClient.setQueryData(other, page(otherRoom, [1]));
    queryClient.setQueryData(rooms, [myRoom(roomId, { lastSeq: 2, readSeq: 2, unread: 0 })]);

    emit({ type: "resumed", roomId: otherRoom, recovered: true, missed: null, epoch: 1, reset: false });
    expect([invalidated(key), invalidated(other), invalidated(rooms)]).toEqual([false, false, false]);

    emit({ type: "resumed", roomId, recovered: false, missed: { fromSeq: 2, toSeq: 900 }, epoch: 1, reset: false });
    expect([invalidated(key), invalidated(other), invalidated(rooms)]).toEqual([true, false, true]);
  });
});

describe("bridgeQueryCache: rooms", () => {
  it("gives the room in rooms.list its last message, counts others' messages as unread (never mine), and moves it to the top", () => {
    const { queryClient, trpc, emit, fetches } = harness();
    const [quiet, busy] = [crypto.randomUUID(), crypto.randomUUID()];
    const key = trpc.rooms.list.queryKey();
    queryClient.setQueryData(key, [myRoom(quiet, { lastSeq: 4, readSeq: 4, unread: 0 }), myRoom(busy, { lastSeq: 2, readSeq: 2, unread: 0 })]);
    emit(ready());

    emit(created(busy, 3, ANN));
    emit(created(busy, 4, ME));
    emit(created(busy, 4, ME)); // delivered twice
    emit(created(busy, 5, ANN));

    const [first, second] = queryClient.getQueryData(key) ?? [];
    expect(first).toMatchObject({ id: busy, lastSeq: 5, unread: 2, readSeq: 2, lastMessage: message(busy, 5, ANN) });
    expect(second).toMatchObject({ id: quiet, lastSeq: 4, unread: 0 });
    expect(fetches).toEqual([]);
  });

  it("takes a read on another device from unread.updated when the count is exact, and refetches rooms.list when it is not", () => {
    const { queryClient, trpc, emit, invalidated } = harness();
    const roomId = crypto.randomUUID();
    const key = trpc.rooms.list.queryKey();
    queryClient.setQueryData(key, [myRoom(roomId, { lastSeq: 6, readSeq: 2, unread: 4 })]);

    emit({ type: "unread.updated", roomId, readSeq: 6, unread: 0, unreadMentions: 0 });
    expect(queryClient.getQueryData(key)?.[0]).toMatchObject({ readSeq: 6, unread: 0 });
    expect(invalidated(key)).toBe(false);

    emit({ type: "unread.updated", roomId, readSeq: 3, unread: 3, unreadMentions: 0 }); // older than what the list has: nothing to do
    expect(queryClient.getQueryData(key)?.[0]).toMatchObject({ readSeq: 6, unread: 0 });
    expect(invalidated(key)).toBe(false);

    // Read up to 7 with 2 unread: messages this list has not seen yet, which the count may or may not include.
    emit({ type: "unread.updated", roomId, readSeq: 7, unread: 2, unreadMentions: 0 });
    expect(invalidated(key)).toBe(true);
  });

  it("refetches rooms.list rather than guess: a message before `ready` said who I am, in an unlisted room, or past a gap", () => {
    const roomId = crypto.randomUUID();
    const cases: [string, (emit: (event: ServerEvent) => void) => void][] = [
      ["before ready", (emit) => emit(created(roomId, 3))],
      ["unlisted room", (emit) => [ready(), created(crypto.randomUUID(), 1)].forEach(emit)],
      ["past a gap", (emit) => [ready(), created(roomId, 4)].forEach(emit)],
    ];
    for (const [name, act] of cases) {
      const { queryClient, trpc, emit, invalidated } = harness();
      const key = trpc.rooms.list.queryKey();
      const rooms = [myRoom(roomId, { lastSeq: 2, readSeq: 2, unread: 0 })];
      queryClient.setQueryData(key, rooms);
      act(emit);
      expect(queryClient.getQueryData(key), name).toBe(rooms);
      expect(invalidated(key), name).toBe(true);
    }
  });

  it("drops a direct room I hid from rooms.list on every device, and fetches the list again when a message brings it back", () => {
    const { queryClient, trpc, emit, invalidated } = harness();
    const [hidden, kept] = [crypto.randomUUID(), crypto.randomUUID()];
    const key = trpc.rooms.list.queryKey();
    emit(ready());
    queryClient.setQueryData(key, [myRoom(hidden, { lastSeq: 2, readSeq: 2, unread: 0 }), myRoom(kept, { lastSeq: 1, readSeq: 1, unread: 0 })]);
    emit({ type: "room.hidden", roomId: hidden });
    emit({ type: "room.hidden", roomId: hidden }); // twice: nothing more
    expect(queryClient.getQueryData<MyRoom[]>(key)?.map((room) => room.id)).toEqual([kept]);
    expect(invalidated(key)).toBe(false);
    emit(created(hidden, 3));
    expect(invalidated(key)).toBe(true);
  });

  it("keeps rooms.invitations: a new invitation first and once, and gone when accepted, declined or cancelled anywhere", () => {
    const { queryClient, trpc, emit, fetches } = harness();
    const key = trpc.rooms.invitations.queryKey();
    const invitation = (id: string) => ({
      id,
      room: { id: crypto.randomUUID(), kind: "group" as const, name: "Ann and Bob", memberCount: 2 },
      inviter: ANN,
      createdAt: new Date(0).toISOString(),
    });
    const [older, newer] = [invitation(crypto.randomUUID()), invitation(crypto.randomUUID())];
    queryClient.setQueryData(key, [older]);
    emit({ type: "invitation", invitation: newer });
    emit({ type: "invitation", invitation: newer });
    expect(queryClient.getQueryData<unknown[]>(key)).toEqual([newer, older]);
    emit({ type: "invitation.removed", invitationId: older.id, reason: "declined" });
    emit({ type: "invitation.removed", invitationId: older.id, reason: "declined" });
    expect(queryClient.getQueryData<unknown[]>(key)).toEqual([newer]);
    expect(fetches).toEqual([]);
  });

  it("refetches rooms.list when my memberships change and on every reconnect after the first, and a room's members when they change", () => {
    const { queryClient, trpc, emit, invalidated } = harness();
    const [roomId, otherRoom] = [crypto.randomUUID(), crypto.randomUUID()];
    const rooms = trpc.rooms.list.queryKey();
    const members = trpc.rooms.members.queryKey({ roomId });
    const otherMembers = trpc.rooms.members.queryKey({ roomId: otherRoom });
    const seed = (): void => {
      queryClient.setQueryData(rooms, []);
      queryClient.setQueryData(members, { items: [], nextCursor: null });
      queryClient.setQueryData(otherMembers, { items: [], nextCursor: null });
    };
    const state = (): boolean[] => [invalidated(rooms), invalidated(members), invalidated(otherMembers)];

    seed();
    emit(ready());
    expect(state()).toEqual([false, false, false]);
    emit(ready()); // reconnected: reads on my other devices meanwhile are not replayed
    expect(state()).toEqual([true, false, false]);

    seed();
    emit({ type: "room.membership", roomId, membership: "removed", room: null });
    expect(state()).toEqual([true, true, false]);

    seed();
    emit({ type: "member.joined", roomId: otherRoom, seq: 1, member: { user: ANN, role: "member" } });
    expect(state()).toEqual([false, false, true]);

    seed();
    emit({ type: "member.left", roomId, seq: 3, userId: ANN.id, reason: "left" });
    expect(state()).toEqual([false, true, false]);

    seed();
    emit({ type: "member.role", roomId: otherRoom, seq: 2, userId: ANN.id, role: "moderator", byUserId: ME.id });
    expect(state()).toEqual([false, false, true]);

    seed();
    emit({ type: "member.left", roomId, seq: 4, userId: ANN.id, reason: "banned" });
    expect(state()).toEqual([false, true, false]);
  });

  it("refetches a room's members and mutes when someone is muted or unmuted there", () => {
    const { queryClient, trpc, emit, invalidated } = harness();
    const roomId = crypto.randomUUID();
    const members = trpc.rooms.members.queryKey({ roomId });
    const mutes = trpc.rooms.mutes.queryKey({ roomId });
    for (const event of [
      { type: "member.muted", roomId, seq: 3, userId: ANN.id, until: null, byUserId: ME.id },
      { type: "member.unmuted", roomId, seq: 4, userId: ANN.id, byUserId: ME.id },
    ] as const) {
      queryClient.setQueryData(members, { items: [], nextCursor: null });
      queryClient.setQueryData(mutes, { items: [], nextCursor: null });
      emit(event);
      expect([invalidated(members), invalidated(mutes)], event.type).toEqual([true, true]);
    }
  });

  it("refetches friends.list and friends.requests on friend.updated, and nothing else", () => {
    const { queryClient, trpc, emit, invalidated } = harness();
    const friends = trpc.friends.list.queryKey({ limit: 50 });
    const requests = trpc.friends.requests.queryKey();
    const rooms = trpc.rooms.list.queryKey();
    queryClient.setQueryData(friends, { items: [], nextCursor: null });
    queryClient.setQueryData(requests, { incoming: [], outgoing: [] });
    queryClient.setQueryData(rooms, []);
    emit(ready());

    emit({ type: "friend.updated", userId: ANN.id, state: "incoming" });
    expect([invalidated(friends), invalidated(requests), invalidated(rooms)]).toEqual([true, true, false]);
  });

  it("gives me my new role in rooms.list on a member.role about me; someone else's only moves the room's position", () => {
    const { queryClient, trpc, emit, fetches } = harness();
    const roomId = crypto.randomUUID();
    const key = trpc.rooms.list.queryKey();
    const listed = myRoom(roomId, { lastSeq: 4, readSeq: 4, unread: 0 });
    queryClient.setQueryData(key, [listed]);
    emit(ready());

    emit({ type: "member.role", roomId, seq: 5, userId: ANN.id, role: "admin", byUserId: BOB.id });
    expect(queryClient.getQueryData(key)?.[0]).toEqual({ ...listed, lastSeq: 5 });
    emit({ type: "member.role", roomId, seq: 6, userId: ME.id, role: "moderator", byUserId: ANN.id });
    emit({ type: "member.role", roomId, seq: 6, userId: ME.id, role: "moderator", byUserId: ANN.id }); // delivered twice
    expect(queryClient.getQueryData(key)?.[0]).toEqual({ ...listed, lastSeq: 6, role: "moderator" });
    emit(created(roomId, 7));
    expect(queryClient.getQueryData(key)?.[0]).toMatchObject({ lastSeq: 7, role: "moderator", unread: 1 });
    expect(fetches).toEqual([]);
  });

  it("renames the room in rooms.list (whose position moves to the rename) and rooms.get on room.updated", () => {
    const { queryClient, trpc, emit } = harness();
    const roomId = crypto.randomUUID();
    const listed = myRoom(roomId, { lastSeq: 9, readSeq: 9, unread: 0 });
    const room: Room = { id: roomId, kind: "public", name: "old", description: "", createdAt: listed.createdAt, lastSeq: 9, epoch: 1, avatarFileId: null, settings: SETTINGS };
    queryClient.setQueryData(trpc.rooms.list.queryKey(), [listed]);
    queryClient.setQueryData(trpc.rooms.get.queryKey({ roomId }), room);

    emit({ type: "room.updated", roomId, seq: 10, room: { ...room, name: "renamed", description: "now with a topic", lastSeq: 10 } });

    expect(queryClient.getQueryData(trpc.rooms.list.queryKey())?.[0]).toEqual({ ...listed, name: "renamed", description: "now with a topic", lastSeq: 10 });
    expect(queryClient.getQueryData(trpc.rooms.get.queryKey({ roomId }))).toEqual({ ...room, name: "renamed", description: "now with a topic" });
  });

  it("takes a new avatar into rooms.list and rooms.get on room.updated", () => {
    const { queryClient, trpc, emit } = harness();
    const roomId = crypto.randomUUID();
    const listed = myRoom(roomId, { lastSeq: 9, readSeq: 9, unread: 0 });
    const room: Room = { id: roomId, kind: "public", name: "old", description: "", createdAt: listed.createdAt, lastSeq: 9, epoch: 1, avatarFileId: null, settings: SETTINGS };
    queryClient.setQueryData(trpc.rooms.list.queryKey(), [listed]);
    queryClient.setQueryData(trpc.rooms.get.queryKey({ roomId }), room);
    const avatarFileId = crypto.randomUUID();

    emit({ type: "room.updated", roomId, seq: 10, room: { ...room, avatarFileId, lastSeq: 10 } });

    expect(queryClient.getQueryData(trpc.rooms.list.queryKey())?.[0]?.avatarFileId).toBe(avatarFileId);
    expect(queryClient.getQueryData(trpc.rooms.get.queryKey({ roomId }))?.avatarFileId).toBe(avatarFileId);
  });
});

describe("bridgeQueryCache: wiring", () => {
  it("finds the entries under a TRPCProvider keyPrefix", () => {
    const { queryClient, trpc, emit } = harness({ keyPrefix: "parley" });
    const roomId = crypto.randomUUID();
    const key = trpc.messages.list.queryKey({ roomId });
    expect(key[0]).toEqual(["parley"]);
    queryClient.setQueryData(key, page(roomId, [1]));

    emit(created(roomId, 2));

    expect(seqs(queryClient.getQueryData(key))).toEqual([1, 2]);
  });

  it("changes nothing once stopped", () => {
    const { queryClient, trpc, emit } = harness();
    const roomId = crypto.randomUUID();
    const key = trpc.messages.list.queryKey({ roomId });
    queryClient.setQueryData(key, page(roomId, [1]));

    for (const stop of stops.splice(0)) stop();
    emit(created(roomId, 2));

    expect(seqs(queryClient.getQueryData(key))).toEqual([1]);
  });
});

describe("bridgeQueryCache: edits, deletions, reactions, pins and threads", () => {
  /** Where @trpc/tanstack-react-query keeps messages.thread (`trpc.messages.thread.queryKey({ rootId })`). */
  const threadKey = (rootId: string, type: "query" | "infinite" = "query"): QueryKey => [["messages", "thread"], { input: { rootId }, type }];
  const idOf = (event: ServerEvent): string => {
    if (event.type !== "message.created") throw new Error(`${event.type} is not a creation`);
    return event.message.id;
  };

  it.each([1, 2, 3])("script %i: cached pages, seeded at any point and given every event after it (twice), equal a fresh messages.list", (seed) => {
    const { queryClient, trpc, emit, fetches, invalidated } = harness();
    const reads: { newest: MessagePage; older: MessagePage }[] = [];
    const { room, live } = randomScript({
      seed,
      steps: 40,
      reader: ME,
      observe: (scripted) => reads.push({ newest: scripted.list(ME, { limit: 100 }), older: scripted.list(ME, { before: 6, limit: 100 }) }),
    });
    emit(ready());
    for (const seededAt of [0, 7, 19, 33]) {
      const newest = trpc.messages.list.queryKey({ roomId: room.roomId, limit: 100 });
      const older = trpc.messages.list.queryKey({ roomId: room.roomId, before: 6, limit: 100 });
      queryClient.setQueryData(newest, reads[seededAt]!.newest);
      queryClient.setQueryData(older, reads[seededAt]!.older);

      for (const event of live.slice(seededAt)) [event, event].forEach(emit);

      expect(queryClient.getQueryData(newest), `seeded at ${seededAt}`).toEqual(room.list(ME, { limit: 100 }));
      // A page of what came before seq 6, read once the room was past it (before, it could still grow: no cache entry does).
      if (reads[seededAt]!.older.lastSeq >= 6) {
        expect(queryClient.getQueryData(older)?.messages, `seeded at ${seededAt}`).toEqual(room.list(ME, { before: 6, limit: 100 }).messages);
      }
      expect(invalidated(newest)).toBe(false);
    }
    expect(fetches).toEqual([]);
  });

  it("keeps a thread-only reply off messages.list, gives its root the new summary there, and still continues the page", () => {
    const { queryClient, trpc, emit, invalidated } = harness();
    const room = scriptedRoom();
    const root = idOf(room.send(ANN, "a question"));
    const key = trpc.messages.list.queryKey({ roomId: room.roomId });
    queryClient.setQueryData(key, room.list(ME));
    emit(ready());

    emit(room.send(ME, "an answer", { threadRootId: root }));
    emit(room.send(ANN, "a message"));

    expect(queryClient.getQueryData(key)?.messages.map((message) => message.body)).toEqual(["a question", "a message"]);
    expect(queryClient.getQueryData(key)?.messages[0]?.thread).toEqual({ replyCount: 1, lastReplyAt: expect.any(String), participants: [ME] });
    expect(queryClient.getQueryData(key)).toEqual(room.list(ME));
    expect(invalidated(key)).toBe(false);
  });

  it("never patches across a gap in the room's events: a reaction two past the page's end invalidates it", () => {
    const { queryClient, trpc, emit, invalidated } = harness();
    const room = scriptedRoom();
    const message = idOf(room.send(ANN, "hi"));
    const key = trpc.messages.list.queryKey({ roomId: room.roomId });
    const cached = room.list(ME);
    queryClient.setQueryData(key, cached);
    emit(ready());

    room.react(message, ANN, "👍"); // never delivered
    emit(room.react(message, BOB, "👍"));

    expect(queryClient.getQueryData(key)).toBe(cached);
    expect(invalidated(key)).toBe(true);
  });

  it("appends replies to a cached messages.thread that reaches the thread's end, and changes its root and replies as messages change", () => {
    const { queryClient, emit, invalidated } = harness();
    const room = scriptedRoom();
    const root = idOf(room.send(ANN, "root"));
    const other = idOf(room.send(ANN, "another root"));
    const first = idOf(room.send(BOB, "first reply", { threadRootId: root }));
    room.send(BOB, "elsewhere", { threadRootId: other });
    const cached = room.thread(ME, root);
    const [head, ...rest] = cached.replies;
    const infinite: InfiniteData<typeof cached> = {
      pages: [{ ...cached, replies: [head!], nextCursor: head!.seq }, { ...cached, replies: rest }],
      pageParams: [null, head!.seq],
    };
    queryClient.setQueryData(threadKey(root), cached);
    queryClient.setQueryData(threadKey(root, "infinite"), infinite);
    const untouched = room.thread(ME, other);
    queryClient.setQueryData(threadKey(other), untouched);
    emit(ready());

    const events = [
      room.send(ME, "my reply", { threadRootId: root }),
      room.edit(first, "first reply, edited"),
      room.react(first, ME, "👍"),
      room.react(first, ANN, "👍"),
      room.send(ANN, "also in the room", { threadRootId: root, alsoInRoom: true }),
      room.delete(first),
      room.pin(root, ANN),
    ];
    for (const event of events) [event, event].forEach(emit);

    const fresh = room.thread(ME, root);
    expect(queryClient.getQueryData(threadKey(root))).toEqual(fresh);
    const pages = queryClient.getQueryData<InfiniteData<typeof cached>>(threadKey(root, "infinite"))?.pages;
    expect(pages?.flatMap((page) => page.replies)).toEqual(fresh.replies);
    expect(pages?.map((page) => page.root)).toEqual([fresh.root, fresh.root]);
    expect(queryClient.getQueryData(threadKey(other))).toBe(untouched);
    expect([invalidated(threadKey(root)), invalidated(threadKey(root, "infinite"))]).toEqual([false, false]);
  });

  it("refetches a cached thread when a reply's root count says one was missed, and every thread when a resume did not recover", () => {
    const { queryClient, emit, invalidated } = harness();
    const room = scriptedRoom();
    const root = idOf(room.send(ANN, "root"));
    queryClient.setQueryData(threadKey(root), room.thread(ME, root));
    emit(ready());

    room.send(BOB, "missed", { threadRootId: root });
    emit(room.send(BOB, "delivered", { threadRootId: root }));
    expect(invalidated(threadKey(root))).toBe(true);

    queryClient.setQueryData(threadKey(root), room.thread(ME, root));
    emit({ type: "resumed", roomId: room.roomId, recovered: false, missed: { fromSeq: 4, toSeq: 2000 }, epoch: 1, reset: false });
    expect(invalidated(threadKey(root))).toBe(true);
  });
});

describe("bridgeQueryCache: rooms.list and the room's other events", () => {
  const listed = (room: ScriptedRoom, counts: { readSeq: number; unread: number; unreadMentions?: number }): MyRoom => ({
    ...myRoom(room.roomId, { lastSeq: room.lastSeq, ...counts }),
    lastMessage: room.list(ME).messages.at(-1) ?? null,
    unreadMentions: counts.unreadMentions ?? 0,
  });

  it("counts a new message that mentions me (by name, or @room from someone else, in a thread too) as an unread mention", () => {
    const { queryClient, trpc, emit, invalidated } = harness();
    const room = scriptedRoom();
    const root = room.send(ANN, "root");
    const key = trpc.rooms.list.queryKey();
    queryClient.setQueryData(key, [listed(room, { readSeq: 1, unread: 0 })]);
    emit(ready());

    emit(room.send(ANN, "@me look", { mentions: [ME.id] }));
    emit(room.send(ME, "@me talking to myself", { mentions: [ME.id] }));
    emit(room.send(BOB, "not about me", { mentions: [ANN.id] }));
    const inThread = room.send(BOB, "@me in a thread", { threadRootId: root.type === "message.created" ? root.message.id : "", mentions: [ME.id] });
    emit(inThread);

    expect(queryClient.getQueryData(key)?.[0]).toMatchObject({ lastSeq: 5, unread: 2, unreadMentions: 2, lastMessage: { body: "not about me" } });
    expect(invalidated(key)).toBe(false);
  });

  it("follows edits, reactions and pins of the last message, and deletions of unread ones, without refetching", () => {
    const { queryClient, trpc, emit, invalidated, fetches } = harness();
    const room = scriptedRoom();
    const early = room.send(ANN, "early");
    const last = room.send(ANN, "@me last", { mentions: [ME.id] });
    const [earlyId, lastId] = [early, last].map((event) => (event.type === "message.created" ? event.message.id : ""));
    const key = trpc.rooms.list.queryKey();
    queryClient.setQueryData(key, [listed(room, { readSeq: 0, unread: 2, unreadMentions: 1 })]);
    emit(ready());

    emit(room.edit(lastId!, "last, no mention any more"));
    emit(room.react(lastId!, ME, "👍"));
    emit(room.pin(lastId!, ANN));
    expect(queryClient.getQueryData(key)?.[0]).toMatchObject({ unread: 2, unreadMentions: 0, lastMessage: room.list(ME).messages.at(-1) });

    emit(room.delete(earlyId!)); // not the last message; no unread mention left, so none could go
    emit(room.send(BOB, "after all that"));
    expect(queryClient.getQueryData(key)?.[0]).toMatchObject({ lastSeq: room.lastSeq, unread: 2, unreadMentions: 0, lastMessage: { body: "after all that" } });
    expect(invalidated(key)).toBe(false);
    expect(fetches).toEqual([]);
  });

  it("refetches rooms.list for an edit or deletion that may change the mention count when it cannot tell how", () => {
    const { queryClient, trpc, emit, invalidated } = harness();
    const room = scriptedRoom();
    const mention = room.send(ANN, "@me early", { mentions: [ME.id] });
    room.send(ANN, "last");
    const key = trpc.rooms.list.queryKey();
    queryClient.setQueryData(key, [listed(room, { readSeq: 0, unread: 2, unreadMentions: 1 })]);
    emit(ready());

    emit(room.delete(mention.type === "message.created" ? mention.message.id : ""));

    expect(invalidated(key)).toBe(true);
  });

  it("takes unreadMentions from unread.updated", () => {
    const { queryClient, trpc, emit } = harness();
    const room = scriptedRoom();
    room.send(ANN, "@me", { mentions: [ME.id] });
    const key = trpc.rooms.list.queryKey();
    queryClient.setQueryData(key, [listed(room, { readSeq: 0, unread: 1, unreadMentions: 1 })]);

    emit({ type: "unread.updated", roomId: room.roomId, readSeq: 1, unread: 0, unreadMentions: 0 });

    expect(queryClient.getQueryData(key)?.[0]).toMatchObject({ readSeq: 1, unread: 0, unreadMentions: 0 });
  });
});
