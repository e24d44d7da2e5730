import { Buffer } from "node:buffer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryBus } from "../../src/infra/bus/memory.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { createMemoryFanout } from "../../src/realtime/memory-fanout.ts";
import { replayRoom, type ReplayDeps, type ReplayTarget } from "../../src/realtime/replay.ts";
import { createRoomFeeds, type RoomFeed } from "../../src/realtime/room-feeds.ts";
import type { SocketHandle } from "../../src/realtime/socket.ts";
import { createUser } from "../support/factories.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";

/** The smallest WS_MAX_BUFFERED_BYTES the config allows. */
const LIMIT = 64 * 1024;
/** 4000 characters of 4 bytes: the largest body, so a few frames fill the limit. */
const BODY = "😀".repeat(4000);

/**
 * A socket whose send queue empties only when the test drains it, as a runtime's does when its reader reads:
 * the replay sees it through `bufferedAmount()`, exactly as it sees Bun's, ws's or Deno's.
 */
interface QueueingSocket extends SocketHandle {
  closing: boolean;
  frames: string[];
  /** The most bytes ever queued at once. */
  peak: number;
  closedWith: number | null;
  drain(bytes: number): void;
}

function queueingSocket(): QueueingSocket {
  let queued = 0;
  const socket: QueueingSocket = {
    id: crypto.randomUUID(),
    raw: {},
    frames: [],
    peak: 0,
    closedWith: null,
    closing: false,
    send(data) {
      socket.frames.push(data);
      queued += Buffer.byteLength(data);
      socket.peak = Math.max(socket.peak, queued);
    },
    sendPublished(data) {
      socket.send(data);
    },
    bufferedAmount: () => queued,
    close(code) {
      socket.closing = true;
      socket.closedWith = code;
    },
    drain(bytes) {
      queued = Math.max(0, queued - bytes);
    },
  };
  return socket;
}

/**
 * Replay writes history to one socket, so it can wait for that socket: it must never queue more than the limit
 * for it, read history only in small pages, and give up (4002) on a socket that stops draining.
 */
describe("replay under backpressure", () => {
  let deps: TestDeps;
  let sender: string;

  beforeAll(async () => {
    deps = await createTestDeps("pglite");
    sender = (await createUser(deps.database)).id;
  });
  afterAll(() => deps.close());

  /** A room with `count` committed messages of the largest size, and this instance's feed of it. */
  async function largeRoom(count: number): Promise<RoomFeed> {
    const room = await deps.services.rooms.create(sender, { name: "large", kind: "public" });
    for (let i = 0; i < count; i++) {
      await deps.services.messages.send(sender, { roomId: room.id, clientMsgId: crypto.randomUUID(), body: BODY });
    }
    const feeds = createRoomFeeds({
      bus: createMemoryBus(),
      fanout: createMemoryFanout(),
      history: deps.services.roomLog,
      logger: createLogger({ level: "silent" }),
      gapWaitMs: 30,
      tailCheckMs: 0,
    });
    return feeds.retain(room.id);
  }

  function replayDeps(overrides: Partial<ReplayDeps> = {}): ReplayDeps & { pageSizes: number[]; stalled: string[] } {
    const pageSizes: number[] = [];
    const stalled: string[] = [];
    return {
      history: {
        position: (roomId) => deps.services.roomLog.position(roomId),
        range: (roomId, afterSeq, throughSeq, limit) => {
          pageSizes.push(limit);
          return deps.services.roomLog.range(roomId, afterSeq, throughSeq, limit);
        },
      },
      resumeMaxMessages: 1000,
      maxBufferedBytes: LIMIT,
      stallTimeoutMs: 10_000,
      closeStalled: (target) => {
        stalled.push(target.userId);
        target.socket.close(4002, "too slow");
      },
      pageSizes,
      stalled,
      ...overrides,
    };
  }

  function targetFor(socket: QueueingSocket): ReplayTarget {
    return { userId: sender, socket, logger: createLogger({ level: "silent" }), closed: false };
  }

  const seqsOf = (socket: QueueingSocket): number[] => socket.frames.map((frame) => (JSON.parse(frame) as { seq: number }).seq);

  it("queues no more than the buffer limit for a slow reader, waiting for it to drain, and replays everything in order", async () => {
    const feed = await largeRoom(30); // ≈ 490 KB: seven and a half times the limit
    const socket = queueingSocket();
    const reader = setInterval(() => socket.drain(20_000), 5); // a reader slower than the replay
    const outcome = await replayRoom(targetFor(socket), feed, 0, () => {}, replayDeps());
    clearInterval(reader);
    expect(outcome).toEqual({ recovered: true, position: 30 });
    expect(seqsOf(socket)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(socket.peak).toBeLessThanOrEqual(LIMIT);
    expect(socket.closedWith).toBeNull();
  });

  it("reads history in pages of about 64 KiB: a handful of the largest messages at a time", async () => {
    const feed = await largeRoom(30);
    const socket = queueingSocket();
    const reader = setInterval(() => socket.drain(LIMIT), 5);
    const deps = replayDeps();
    await replayRoom(targetFor(socket), feed, 0, () => {}, deps);
    clearInterval(reader);
    expect(deps.pageSizes[0]).toBeLessThanOrEqual(16); // before any frame was measured
    expect(Math.max(...deps.pageSizes.slice(1))).toBeLessThanOrEqual(4); // 64 KiB of 16 KB frames
  });

  it("closes a socket whose queue does not drain for the stall timeout, having queued at most the limit", async () => {
    const feed = await largeRoom(20);
    const socket = queueingSocket(); // its reader never reads
    const deps = replayDeps({ stallTimeoutMs: 300 });
    const attached: string[] = [];
    const startedAt = Date.now();
    await replayRoom(targetFor(socket), feed, 0, () => attached.push("attached"), deps);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
    expect(deps.stalled).toEqual([sender]);
    expect(socket.closedWith).toBe(4002);
    expect(socket.peak).toBeLessThanOrEqual(LIMIT);
    expect(seqsOf(socket)).toEqual(Array.from({ length: socket.frames.length }, (_, i) => i + 1)); // a prefix
    expect(attached).toEqual([]); // never attached: it resumes from what it received
  });

  it("keeps waiting for a reader that drains slowly but steadily, however long the replay takes", async () => {
    const feed = await largeRoom(12);
    const socket = queueingSocket();
    const reader = setInterval(() => socket.drain(2000), 20); // ≈ 100 KB/s: a poor mobile link
    const deps = replayDeps({ stallTimeoutMs: 500 });
    const outcome = await replayRoom(targetFor(socket), feed, 0, () => {}, deps);
    clearInterval(reader);
    expect(outcome).toEqual({ recovered: true, position: 12 });
    expect(deps.stalled).toEqual([]);
  }, 20_000);
});
