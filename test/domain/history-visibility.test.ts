import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoggedRoomEvent, ServerEvent } from "../../src/contract.ts";
import type { Message } from "../../src/domain/messages/messages.schema.ts";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { createConnection } from "../../src/realtime/connection.ts";
import { createMemoryFanout } from "../../src/realtime/memory-fanout.ts";
import { createRoomFeeds } from "../../src/realtime/room-feeds.ts";
import type { SocketHandle } from "../../src/realtime/socket.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, token } from "./room-fixtures.ts";
import { callerFor, trpcError } from "./trpc-calls.ts";
import { createPresenceScreen } from "../../src/realtime/presence-screen.ts";

const NO_SUCH_MESSAGE = { code: "NOT_FOUND", message: "no such message" } as const;

/**
 * History visibility "sinceJoin": a member reads the room from their own member.joined on — on every path that
 * shows what came before (messages.list in each direction, threads, pins, edits, reactors, search, rooms.events,
 * rooms.list's last message, and the replay of a socket resuming from an older position). "all" (the default)
 * shows a newcomer everything.
 */
describe.each(databaseKinds)("history visible since joining on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const api = (user: UserPublic) => callerFor(deps.services, user.id);

  /**
   * A room with history before `ann` joins — two messages with a unique word, the first pinned, reacted to, edited
   * and the root of a thread — then ann's join and one message after it.
   */
  async function roomBeforeAndAfter(visibility: "all" | "sinceJoin") {
    const [owner, ann] = await createUsers(deps, 2);
    const word = token();
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
    await deps.services.rooms.update(owner.id, { roomId: room.id, settings: { historyVisibility: visibility } });
    const send = (body: string, options: { threadRootId?: string } = {}) =>
      deps.services.messages.send(owner.id, { roomId: room.id, clientMsgId: `h-${token()}`, body, ...options }).then((sent) => sent.message);
    const old = await send(`old ${word}`);
    await send(`older reply ${word}`, { threadRootId: old.id });
    await deps.services.messageChanges.pin(owner.id, { messageId: old.id });
    await deps.services.messageChanges.react(owner.id, { messageId: old.id, emoji: "👍" });
    await deps.services.messageChanges.edit(owner.id, { messageId: old.id, body: `old edited ${word}` });
    await deps.services.rooms.join(ann.id, room.id);
    const joinedAt = (await deps.services.rooms.get(ann.id, room.id)).lastSeq;
    const recent = await send(`new ${word}`);
    return { owner, ann, room: await deps.services.rooms.get(owner.id, room.id), old, recent, joinedAt, word };
  }

  const seqs = (messages: Message[]): number[] => messages.map((message) => message.seq);

  it("lists only messages from the join on, in every direction, with hasOlder false at the join", async () => {
    const { owner, ann, room, old, recent } = await roomBeforeAndAfter("sinceJoin");
    const list = api(ann).messages.list;
    expect(await list({ roomId: room.id })).toMatchObject({ messages: [recent], hasOlder: false, hasNewer: false });
    expect(await list({ roomId: room.id, after: 0 })).toMatchObject({ messages: [recent], hasOlder: false });
    expect(await list({ roomId: room.id, before: recent.seq + 1 })).toMatchObject({ messages: [recent], hasOlder: false });
    expect(await list({ roomId: room.id, before: recent.seq })).toMatchObject({ messages: [], hasOlder: false, hasNewer: true });
    expect(seqs((await list({ roomId: room.id, around: old.seq })).messages)).toEqual([recent.seq]);
    // The owner, there from the start, reads it all.
    expect(seqs((await api(owner).messages.list({ roomId: room.id })).messages)).toEqual([old.seq, recent.seq]);
  });

  it("hides a thread, its edits and reactors, and changes to a message from before the join as if it did not exist", async () => {
    const { ann, old } = await roomBeforeAndAfter("sinceJoin");
    expect(await trpcError(api(ann).messages.thread({ rootId: old.id }))).toMatchObject(NO_SUCH_MESSAGE);
    expect(await trpcError(api(ann).messages.edits({ messageId: old.id }))).toMatchObject(NO_SUCH_MESSAGE);
    expect(await trpcError(api(ann).messages.reactors({ messageId: old.id, emoji: "👍" }))).toMatchObject(NO_SUCH_MESSAGE);
    expect(await trpcError(api(ann).messages.react({ messageId: old.id, emoji: "🎉" }))).toMatchObject(NO_SUCH_MESSAGE);
  });

  it("lists no pin from before the join", async () => {
    const { owner, ann, room, old, recent } = await roomBeforeAndAfter("sinceJoin");
    expect(await api(ann).messages.pinned({ roomId: room.id })).toEqual([]);
    await deps.services.messageChanges.pin(owner.id, { messageId: recent.id });
    expect((await api(ann).messages.pinned({ roomId: room.id })).map((message) => message.id)).toEqual([recent.id]);
    expect((await api(owner).messages.pinned({ roomId: room.id })).map((message) => message.id)).toEqual([recent.id, old.id]);
  });

  it("finds nothing from before the join in search", async () => {
    const { owner, ann, room, recent, word } = await roomBeforeAndAfter("sinceJoin");
    const hits = async (user: UserPublic, roomId?: string) =>
      (await api(user).messages.search({ query: word, ...(roomId ? { roomId } : {}) })).hits.map((hit) => hit.message.id);
    expect(await hits(ann)).toEqual([recent.id]);
    expect(await hits(ann, room.id)).toEqual([recent.id]);
    expect(await hits(owner)).toHaveLength(3);
  });

  it("pages rooms.events from the member's own member.joined", async () => {
    const { ann, room, joinedAt, recent } = await roomBeforeAndAfter("sinceJoin");
    const page = await api(ann).rooms.events({ roomId: room.id, after: 0 });
    expect(page.events.map((event) => [event.seq, event.type])).toEqual([
      [joinedAt, "member.joined"],
      [recent.seq, "message.created"],
    ]);
    expect(page.hasMore).toBe(false);
  });

  it("shows no last message from before the join in rooms.list", async () => {
    const [owner, ann] = await createUsers(deps, 2);
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
    await deps.services.rooms.update(owner.id, { roomId: room.id, settings: { historyVisibility: "sinceJoin" } });
    const before = await deps.services.messages.send(owner.id, { roomId: room.id, clientMsgId: `h-${token()}`, body: "before" });
    await deps.services.rooms.join(ann.id, room.id);
    const listed = async (user: UserPublic) => (await api(user).rooms.list()).find((mine) => mine.id === room.id)?.lastMessage ?? null;
    expect(await listed(ann)).toBeNull();
    expect((await listed(owner))?.id).toBe(before.message.id);
    const after = await deps.services.messages.send(owner.id, { roomId: room.id, clientMsgId: `h-${token()}`, body: "after" });
    expect((await listed(ann))?.id).toBe(after.message.id);
  });

  it("changes nothing for a newcomer where history is visible to all (the default)", async () => {
    const { ann, room, old, recent, word } = await roomBeforeAndAfter("all");
    expect(seqs((await api(ann).messages.list({ roomId: room.id })).messages)).toEqual([old.seq, recent.seq]);
    expect((await api(ann).messages.thread({ rootId: old.id })).replies).toHaveLength(1);
    expect(await api(ann).messages.pinned({ roomId: room.id })).toHaveLength(1);
    expect((await api(ann).messages.search({ query: word })).hits).toHaveLength(3);
    expect((await api(ann).rooms.events({ roomId: room.id, after: 0 })).events[0]?.seq).toBe(1);
  });

  describe("resuming a socket", () => {
    /** A connection of `user` on a socket that records what it is sent, started with `resume`. */
    async function connect(user: UserPublic, resume: Record<string, { seq: number; epoch: number }>): Promise<ServerEvent[]> {
      const frames: ServerEvent[] = [];
      const record = (data: string): void => void frames.push(JSON.parse(data) as ServerEvent);
      const socket: SocketHandle = { id: crypto.randomUUID(), raw: {}, send: record, sendPublished: record, close: () => {}, bufferedAmount: () => 0, closing: false };
      const fanout = createMemoryFanout();
      const feeds = createRoomFeeds({ bus: deps.bus, fanout, history: deps.services.roomLog, logger: deps.logger, gapWaitMs: 30, tailCheckMs: 0 });
      const connection = createConnection(socket, { userId: user.id, sessionId: crypto.randomUUID(), resume }, {
        services: deps.services,
        bus: deps.bus,
        feeds,
        fanout,
        logger: deps.logger,
        frameBudget: { capacity: 100, periodSeconds: 1 },
        history: deps.services.roomLog,
        resumeMaxMessages: 1000,
        maxBufferedBytes: 1024 * 1024,
        stallTimeoutMs: 10_000,
        closeStalled: () => {},
        screen: createPresenceScreen(),
      });
      await connection.start(resume);
      await settle(50);
      connection.ended();
      return frames;
    }

    const replayed = (frames: ServerEvent[], room: Room): number[] =>
      frames.flatMap((frame) => ("seq" in frame && frame.roomId === room.id ? [(frame as LoggedRoomEvent).seq] : []));

    it("replays a client resuming from before its join only from its own member.joined", async () => {
      const { ann, room, joinedAt, recent } = await roomBeforeAndAfter("sinceJoin");
      const frames = await connect(ann, { [room.id]: { seq: 0, epoch: room.epoch } });
      expect(replayed(frames, room)).toEqual([joinedAt, recent.seq]);
      expect(frames).toContainEqual(expect.objectContaining({ type: "resumed", roomId: room.id, recovered: true }));
    });

    it("replays everything after the client's position where history is visible to all", async () => {
      const { ann, room } = await roomBeforeAndAfter("all");
      const frames = await connect(ann, { [room.id]: { seq: 0, epoch: room.epoch } });
      expect(replayed(frames, room)).toEqual(Array.from({ length: room.lastSeq }, (_, index) => index + 1));
    });
  });
});
