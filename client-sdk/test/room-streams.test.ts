import { afterEach, describe, expect, it, vi } from "vitest";
import { messageFixture } from "../../test/support/message-fixture.ts";
import type { LoggedRoomEvent, Message, ResumePosition } from "../../src/contract.ts";
import { createRoomStreams, type RoomStreams } from "../src/realtime/room-streams.ts";

/**
 * Per-room positions: "no loss, no duplicates, no reordering" on the client, for every logged room event. History
 * is a plain array the test owns; `fetchAfter` answers from it exactly as rooms.events does (ascending, at most
 * `limit`, with the log's epoch).
 */
const ROOM = "room-a";
const EPOCH = 7;
type MessageCreated = Extract<LoggedRoomEvent, { type: "message.created" }>;

function message(seq: number, roomId = ROOM): Message {
  return messageFixture({ id: `m-${roomId}-${seq}`, roomId, seq, sender: { id: "u-1", username: "alice", displayName: "Alice" }, body: `#${seq}`, createdAt: new Date(seq * 1000).toISOString() });
}
const created = (seq: number, roomId = ROOM): MessageCreated => ({ type: "message.created", roomId, seq, message: message(seq, roomId) });
const asEvent = (message: Message): MessageCreated => ({ type: "message.created", roomId: message.roomId, seq: message.seq, message });

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

interface Harness {
  streams: RoomStreams;
  /** Seqs delivered, in delivery order. */
  delivered: number[];
  fetches: { afterSeq: number; limit: number }[];
  fillErrors: unknown[];
  resets: ResumePosition[];
  /** Fetches in flight right now, and the most ever at once. */
  concurrency: { now: number; max: number };
}

/** `answer` decides each fetch's outcome; the default answers from `history` at once. `epoch`: the log's, per call. */
function harness(history: number[], answer?: (afterSeq: number, call: number) => Promise<Message[]>, epoch = (_call: number) => EPOCH): Harness {
  const h: Harness = { streams: undefined as never, delivered: [], fetches: [], fillErrors: [], resets: [], concurrency: { now: 0, max: 0 } };
  const fromHistory = (afterSeq: number, limit: number): Message[] =>
    history.filter((seq) => seq > afterSeq).slice(0, limit).map((seq) => message(seq));
  h.streams = createRoomStreams({
    async fetchAfter(roomId, afterSeq, limit) {
      expect(roomId).toBe(ROOM);
      h.fetches.push({ afterSeq, limit });
      h.concurrency.now += 1;
      h.concurrency.max = Math.max(h.concurrency.max, h.concurrency.now);
      const call = h.fetches.length;
      try {
        const messages = answer ? await answer(afterSeq, call) : fromHistory(afterSeq, limit);
        return { events: messages.map(asEvent), epoch: epoch(call) };
      } finally {
        h.concurrency.now -= 1;
      }
    },
    deliver: (event) => h.delivered.push(event.seq),
    onFillError: (_roomId, error) => h.fillErrors.push(error),
    onReset: (_roomId, position) => h.resets.push(position),
  });
  return h;
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

afterEach(() => {
  vi.useRealTimers();
});

describe("room streams", () => {
  it("delivers consecutive messages at once and in order, and remembers the position", () => {
    const { streams, delivered, fetches } = harness([]);
    expect(streams.position(ROOM)).toBeUndefined();
    for (const seq of [4, 5, 6]) streams.accept(created(seq));
    expect(delivered).toEqual([4, 5, 6]);
    expect(streams.position(ROOM)).toBe(6);
    expect(fetches).toEqual([]); // an unknown room adopts its first seq: there is nothing before it to fetch
    // Not resumable until its epoch is known: a resume map names only positions the server can place.
    expect(streams.positions()).toEqual({});
    streams.advance(ROOM, 6, EPOCH);
    expect(streams.positions()).toEqual({ [ROOM]: { seq: 6, epoch: EPOCH } });
  });

  it("orders every logged event kind by seq alike: a join, a role change and a departure wait for the message before them", async () => {
    const user = { id: "u-2", username: "bob", displayName: "Bob" };
    const joined: LoggedRoomEvent = { type: "member.joined", roomId: ROOM, seq: 2, member: { user, role: "member" } };
    const promoted: LoggedRoomEvent = { type: "member.role", roomId: ROOM, seq: 4, userId: user.id, role: "moderator", byUserId: "u-1" };
    const left: LoggedRoomEvent = { type: "member.left", roomId: ROOM, seq: 5, userId: user.id, reason: "left" };
    const h = harness([]);
    h.streams.advance(ROOM, 0, EPOCH);
    for (const event of [left, promoted, created(3), joined, created(1), joined, promoted]) h.streams.accept(event);
    await settle();
    expect(h.delivered).toEqual([1, 2, 3, 4, 5]);
  });

  it("skips to where the log starts for this reader when a gap fill finds nothing before it (sinceJoin history)", async () => {
    // The server's log for this reader begins at 8 (their member.joined): asking after 2 answers from 8 on.
    const h = harness([8, 9, 10]);
    h.streams.advance(ROOM, 2, EPOCH);
    h.streams.accept(created(10));
    await vi.waitFor(() => expect(h.delivered).toEqual([8, 9, 10]));
    expect(h.fetches).toEqual([{ afterSeq: 2, limit: expect.any(Number) }]); // once: no loop asking for 3 again
    expect(h.streams.position(ROOM)).toBe(10);
  });

  it("starts over when told of another epoch: the old seq means nothing there, and what was buffered is dropped", async () => {
    const gate = deferred<Message[]>();
    const h = harness([], () => gate.promise);
    h.streams.advance(ROOM, 10, EPOCH);
    h.streams.accept(created(12)); // waits for 11
    h.streams.advance(ROOM, 3, EPOCH + 1); // a restored database: its log ends at 3
    expect(h.streams.positions()).toEqual({ [ROOM]: { seq: 3, epoch: EPOCH + 1 } });
    h.streams.accept(created(4));
    expect(h.delivered).toEqual([4]);
    gate.resolve([message(11)]); // the old epoch's fill lands late and delivers nothing
    await settle();
    expect(h.delivered).toEqual([4]);
  });

  it("resets when a gap fill finds the log in another epoch, instead of splicing two histories", async () => {
    const h = harness(upTo(5), undefined, () => EPOCH + 1);
    h.streams.advance(ROOM, 1, EPOCH);
    h.streams.accept(created(4));
    await settle();
    expect(h.delivered).toEqual([]);
    expect(h.resets).toEqual([{ seq: 5, epoch: EPOCH + 1 }]);
    expect(h.streams.positions()).toEqual({ [ROOM]: { seq: 5, epoch: EPOCH + 1 } });
  });

  it("drops duplicates, whether already delivered or still buffered", async () => {
    const gate = deferred<Message[]>();
    const { streams, delivered } = harness([], () => gate.promise);
    streams.accept(created(1));
    streams.accept(created(2));
    streams.accept(created(1));
    streams.accept(created(2));
    streams.accept(created(4));
    streams.accept(created(4));
    streams.accept(created(3));
    expect(delivered).toEqual([1, 2, 3, 4]);
    gate.resolve([message(3), message(4)]); // the fill's copies arrive late and are not delivered again
    await settle();
    expect(delivered).toEqual([1, 2, 3, 4]);
  });

  it("fills a seq jump from history, delivering the missing messages before the buffered ones", async () => {
    const { streams, delivered, fetches } = harness(upTo(6));
    streams.accept(created(1));
    streams.accept(created(5));
    streams.accept(created(6));
    expect(delivered).toEqual([1]);
    await settle();
    expect(fetches[0]).toEqual({ afterSeq: 1, limit: 100 });
    expect(delivered).toEqual([1, 2, 3, 4, 5, 6]);
    expect(streams.position(ROOM)).toBe(6);
  });

  it("pages through a long gap until it reaches the buffered messages", async () => {
    const { streams, delivered, fetches } = harness(upTo(260));
    streams.accept(created(1));
    streams.accept(created(260));
    await vi.waitFor(() => expect(delivered).toHaveLength(260));
    expect(delivered).toEqual(upTo(260));
    expect(fetches.map((fetch) => fetch.afterSeq)).toEqual([1, 101, 201]);
  });

  it("runs one fetch at a time per room when jumps arrive while a fill is in flight", async () => {
    const gates = [deferred<Message[]>(), deferred<Message[]>()];
    const h = harness([], (_afterSeq, call) => gates[call - 1]!.promise);
    h.streams.accept(created(1));
    h.streams.accept(created(5));
    h.streams.accept(created(8));
    h.streams.accept(created(10));
    await settle();
    expect(h.fetches).toEqual([{ afterSeq: 1, limit: 100 }]);

    gates[0]!.resolve([2, 3, 4].map((seq) => message(seq))); // what history held when the first fetch ran
    await vi.waitFor(() => expect(h.fetches).toHaveLength(2));
    expect(h.delivered).toEqual([1, 2, 3, 4, 5]);
    expect(h.fetches[1]).toEqual({ afterSeq: 5, limit: 100 });

    gates[1]!.resolve([6, 7, 8, 9, 10].map((seq) => message(seq)));
    await vi.waitFor(() => expect(h.delivered).toEqual(upTo(10)));
    expect(h.concurrency.max).toBe(1);
  });

  it("reports a failing fetch, retries it a second later, and still converges", async () => {
    vi.useFakeTimers();
    const outage = new Error("history unavailable");
    const h = harness([], async (afterSeq, call) => {
      if (call <= 2) throw outage;
      return [2, 3, 4].filter((seq) => seq > afterSeq).map((seq) => message(seq));
    });
    h.streams.accept(created(1));
    h.streams.accept(created(4));
    await vi.advanceTimersByTimeAsync(0);
    expect(h.fillErrors).toEqual([outage]);
    expect(h.delivered).toEqual([1]);

    await vi.advanceTimersByTimeAsync(999);
    expect(h.fetches).toHaveLength(1); // no hot retry loop
    await vi.advanceTimersByTimeAsync(1);
    expect(h.fillErrors).toEqual([outage, outage]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.delivered).toEqual([1, 2, 3, 4]);
    expect(h.fetches).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.fetches).toHaveLength(3); // converged: nothing left to retry
  });

  it("advances positions forward only, releasing buffered events the new position reaches", async () => {
    const gate = deferred<Message[]>();
    const { streams, delivered } = harness([], () => gate.promise);
    streams.advance(ROOM, 10); // e.g. `ready` said the room's last seq is 10
    expect(streams.position(ROOM)).toBe(10);
    streams.advance(ROOM, 7);
    expect(streams.position(ROOM)).toBe(10);

    streams.accept(created(14));
    streams.accept(created(15));
    expect(delivered).toEqual([]);
    streams.advance(ROOM, 13); // the app loaded history through 13 itself
    expect(delivered).toEqual([14, 15]);
    expect(streams.position(ROOM)).toBe(15);

    gate.resolve([11, 12, 13, 14, 15].map((seq) => message(seq))); // the superseded fill delivers nothing
    await settle();
    expect(delivered).toEqual([14, 15]);
  });

  it("forgets a room: no position, no buffered events, and the next message is adopted as is", async () => {
    const gate = deferred<Message[]>();
    const { streams, delivered } = harness([], () => gate.promise);
    streams.accept(created(1));
    streams.accept(created(3));
    streams.forget(ROOM);
    expect(streams.position(ROOM)).toBeUndefined();
    expect(streams.positions()).toEqual({});
    gate.resolve([]);
    await settle();

    streams.accept(created(2));
    streams.accept(created(3));
    expect(delivered).toEqual([1, 2, 3]);
  });

  it("keeps rooms independent", () => {
    const { streams, delivered } = harness([]);
    const other = "room-b";
    streams.advance(ROOM, 0, EPOCH);
    streams.advance(other, 6, EPOCH + 1);
    streams.accept(created(1));
    streams.accept(created(7, other));
    streams.accept(created(2));
    streams.accept(created(8, other));
    expect(delivered).toEqual([1, 7, 2, 8]);
    expect(streams.positions()).toEqual({ [ROOM]: { seq: 2, epoch: EPOCH }, [other]: { seq: 8, epoch: EPOCH + 1 } });
  });
});
