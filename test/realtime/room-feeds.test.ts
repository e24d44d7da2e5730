import { Buffer } from "node:buffer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "../../src/domain/messages/messages.schema.ts";
import { createMemoryBus } from "../../src/infra/bus/memory.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { encodeEvent } from "../../src/realtime/event-publisher.ts";
import { createMemoryFanout } from "../../src/realtime/memory-fanout.ts";
import { createRoomFeeds, type RoomFeeds } from "../../src/realtime/room-feeds.ts";
import type { SocketHandle } from "../../src/realtime/socket.ts";
import { roomTopic } from "../../src/realtime/topics.ts";
import { createUser } from "../support/factories.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";

/** A committed message as the services publish it: its message.created frame. */
function encodeMessage(message: Message): string {
  return encodeEvent({ type: "message.created", roomId: message.roomId, seq: message.seq, message });
}

/** A socket that keeps what it was sent: the realtime layer's view of a client. */
function recordingSocket(): SocketHandle & { seqs(): number[]; frames: string[] } {
  const frames: string[] = [];
  return {
    id: crypto.randomUUID(),
    raw: {},
    frames,
    closing: false,
    send: (data) => void frames.push(data),
    sendPublished: (data) => void frames.push(data),
    close: () => {},
    bufferedAmount: () => 0,
    seqs: () => frames.map((frame) => JSON.parse(frame) as { seq?: number }).flatMap((event) => (event.seq ? [event.seq] : [])),
  };
}

/**
 * The feed sits between the bus and local sockets. Here the domain commits messages to a real database, but
 * what reaches the feed's bus is staged by the test — late, reordered, duplicated or lost — as a broker might.
 */
describe("room feeds", () => {
  let deps: TestDeps;
  let sender: string;

  beforeAll(async () => {
    deps = await createTestDeps("pglite");
    sender = (await createUser(deps.database)).id;
  });
  afterAll(() => deps.close());

  interface Setup {
    feeds: RoomFeeds;
    bus: ReturnType<typeof createMemoryBus>;
    roomId: string;
    commit(n: number): Promise<Message[]>;
    /** A socket subscribed to the room's topic from now on. */
    attach(): Promise<ReturnType<typeof recordingSocket>>;
    fanout: ReturnType<typeof createMemoryFanout>;
  }

  async function setup(gapWaitMs = 30): Promise<Setup> {
    const bus = createMemoryBus();
    const fanout = createMemoryFanout();
    const feeds = createRoomFeeds({ bus, fanout, history: deps.services.roomLog, logger: createLogger({ level: "silent" }), gapWaitMs, tailCheckMs: 0 });
    const room = await deps.services.rooms.create(sender, { name: "feed", kind: "public" });
    const commit = async (n: number): Promise<Message[]> => {
      const sent: Message[] = [];
      for (let i = 0; i < n; i++) {
        const { message } = await deps.services.messages.send(sender, { roomId: room.id, clientMsgId: crypto.randomUUID(), body: `m ${i}` });
        sent.push(message);
      }
      return sent;
    };
    const attach = async (): Promise<ReturnType<typeof recordingSocket>> => {
      const socket = recordingSocket();
      const feed = await feeds.retain(room.id);
      fanout.subscribe(socket, feed.topic);
      return socket;
    };
    return { feeds, bus, roomId: room.id, commit, attach, fanout };
  }

  it("forwards messages in seq order even when the bus delivers them out of order", async () => {
    const { bus, roomId, commit, attach } = await setup();
    const socket = await attach();
    const [one, two, three] = await commit(3);
    for (const message of [three, one, two]) await bus.publish(roomTopic(roomId), encodeMessage(message as Message));
    await settle(20);
    expect(socket.seqs()).toEqual([1, 2, 3]);
  });

  it("forwards each seq once, however often the bus repeats it", async () => {
    const { bus, roomId, commit, attach } = await setup();
    const socket = await attach();
    const [one, two] = (await commit(2)) as [Message, Message];
    for (const message of [one, one, two, one, two]) await bus.publish(roomTopic(roomId), encodeMessage(message));
    await settle(20);
    expect(socket.seqs()).toEqual([1, 2]);
  });

  it("reads a message the bus lost back from history before forwarding what follows it", async () => {
    const { bus, roomId, commit, attach } = await setup();
    const socket = await attach();
    const [one, , three] = (await commit(3)) as [Message, Message, Message];
    await bus.publish(roomTopic(roomId), encodeMessage(one));
    await bus.publish(roomTopic(roomId), encodeMessage(three));
    await settle(10);
    expect(socket.seqs()).toEqual([1]); // 3 waits for 2
    await settle(100);
    expect(socket.seqs()).toEqual([1, 2, 3]);
    expect(socket.frames[1]).toBe((await deps.services.roomLog.range(roomId, 1, 2, 1))[0]?.frame);
  });

  it("starts from the room's committed position: history from before the feed existed is not re-sent", async () => {
    const { feeds, bus, roomId, commit, attach } = await setup();
    const [old] = (await commit(1)) as [Message];
    const socket = await attach();
    const feed = await feeds.retain(roomId);
    expect(feed.position()).toBe(1);
    await bus.publish(roomTopic(roomId), encodeMessage(old));
    const [next] = (await commit(1)) as [Message];
    await bus.publish(roomTopic(roomId), encodeMessage(next));
    await settle(20);
    expect(socket.seqs()).toEqual([2]);
  });

  it("attaches a socket exactly at the requested seq: nothing before it, nothing missed after it", async () => {
    const { feeds, bus, roomId, commit, attach, fanout } = await setup(5_000);
    const early = await attach();
    const feed = await feeds.retain(roomId);
    const [one, two, three] = (await commit(3)) as [Message, Message, Message];
    const late = recordingSocket();
    const attached = feed.attachAt(2, () => fanout.subscribe(late, feed.topic));
    for (const message of [one, two, three]) await bus.publish(roomTopic(roomId), encodeMessage(message));
    expect(await attached).toBe("attached");
    await settle(20);
    expect(early.seqs()).toEqual([1, 2, 3]);
    expect(late.seqs()).toEqual([3]);
  });

  it("orders every logged event by its seq, not only messages: joins, departures and room updates wait their turn", async () => {
    const { bus, roomId, commit, attach } = await setup();
    const socket = await attach();
    const [first] = (await commit(1)) as [Message];
    const joiner = await createUser(deps.database);
    const joinedEvents = await deps.recordEvents({ roomId });
    await deps.services.rooms.join(joiner.id, roomId);
    await deps.services.rooms.leave(joiner.id, roomId);
    await settle();
    const [joined, left] = joinedEvents;
    expect([joined?.type, left?.type]).toEqual(["member.joined", "member.left"]);
    const [last] = (await commit(1)) as [Message];
    for (const frame of [encodeMessage(last), encodeEvent(left!), encodeMessage(first), encodeEvent(joined!), encodeEvent(left!)]) {
      await bus.publish(roomTopic(roomId), frame);
    }
    await settle(20);
    expect(socket.seqs()).toEqual([1, 2, 3, 4]);
    expect(socket.frames.map((frame) => (JSON.parse(frame) as { type: string }).type)).toEqual([
      "message.created",
      "member.joined",
      "member.left",
      "message.created",
    ]);
  });

  it("passes events without a seq (typing, presence, receipts) straight through", async () => {
    const { bus, roomId, attach } = await setup();
    const socket = await attach();
    const typing = encodeEvent({ type: "typing", roomId, userId: sender, active: true });
    await bus.publish(roomTopic(roomId), typing);
    await settle(10);
    expect(socket.frames).toEqual([typing]);
  });

  it("after the bus comes back, forwards what was committed while it was down", async () => {
    const { feeds, commit, attach } = await setup();
    const socket = await attach();
    await commit(4); // published on the services' bus, never on this feed's: as if the broker was down
    await feeds.reconcile();
    expect(socket.seqs()).toEqual([1, 2, 3, 4]);
  });

  it("reads a lost newest message from history when the feed stays behind the database for a whole check", async () => {
    const { feeds, commit, attach } = await setup();
    const socket = await attach();
    await commit(2); // committed, announced on the services' bus only: to this feed, their publishes were lost
    await feeds.checkTails(); // first look: the feed may just be a moment behind
    await settle(20);
    expect(socket.seqs()).toEqual([]);
    await feeds.checkTails(); // still behind what was committed a check ago: the tail was lost
    await settle(50);
    expect(socket.seqs()).toEqual([1, 2]);
  });

  it("paces a gap fill: history read in pages of about 64 KiB, the room's sockets checked after each 64 KiB forwarded", async () => {
    const bus = createMemoryBus();
    const fanout = createMemoryFanout();
    const pageSizes: number[] = [];
    const socket = recordingSocket();
    const bytesAtChecks: number[] = [];
    const bytes = (): number => socket.frames.reduce((sum, frame) => sum + Buffer.byteLength(frame), 0);
    const feeds = createRoomFeeds({
      bus,
      fanout,
      history: {
        ...deps.services.roomLog,
        range: (roomId, afterSeq, throughSeq, limit) => {
          pageSizes.push(limit);
          return deps.services.roomLog.range(roomId, afterSeq, throughSeq, limit);
        },
      },
      logger: createLogger({ level: "silent" }),
      gapWaitMs: 10,
      tailCheckMs: 0,
      checkReaders: () => bytesAtChecks.push(bytes()),
    });
    const room = await deps.services.rooms.create(sender, { name: "large", kind: "public" });
    fanout.subscribe(socket, (await feeds.retain(room.id)).topic);
    const body = "😀".repeat(4000); // 16,000 bytes of UTF-8: the largest body
    let last: Message | null = null;
    for (let i = 0; i < 40; i++) {
      ({ message: last } = await deps.services.messages.send(sender, { roomId: room.id, clientMsgId: crypto.randomUUID(), body }));
    }
    await bus.publish(roomTopic(room.id), encodeMessage(last as Message)); // the bus lost the 39 before it
    for (let waited = 0; socket.seqs().length < 40 && waited < 5000; waited += 20) await settle(20);

    expect(socket.seqs()).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const frame = Buffer.byteLength(socket.frames[0] as string);
    const chunks = bytesAtChecks.map((at, i) => at - (bytesAtChecks[i - 1] ?? 0));
    expect(chunks.length).toBeGreaterThanOrEqual(Math.floor(bytes() / (64 * 1024 + frame)));
    expect(Math.max(...chunks)).toBeLessThanOrEqual(64 * 1024 + frame); // never more than a chunk between checks
    expect(bytesAtChecks.at(-1)).toBe(bytes()); // the tail of the fill is checked too
    expect(pageSizes[0]).toBeLessThanOrEqual(16);
    expect(Math.max(...pageSizes.slice(1))).toBeLessThanOrEqual(4);
  });

  it("holds one bus subscription per room and drops it with the last reference", async () => {
    const { feeds, bus, roomId } = await setup();
    await feeds.retain(roomId);
    await feeds.retain(roomId);
    expect(bus.subscribedTopics()).toEqual([roomTopic(roomId)]);
    feeds.release(roomId);
    expect(bus.subscribedTopics()).toEqual([roomTopic(roomId)]);
    feeds.release(roomId);
    expect(bus.subscribedTopics()).toEqual([]);
    expect(feeds.rooms()).toEqual([]);
  });
});
