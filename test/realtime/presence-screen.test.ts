import { describe, expect, it } from "vitest";
import { createMemoryBus } from "../../src/infra/bus/memory.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { encodeEvent } from "../../src/realtime/event-publisher.ts";
import { createMemoryFanout } from "../../src/realtime/memory-fanout.ts";
import { createPresenceScreen, type ScreenedSocket } from "../../src/realtime/presence-screen.ts";
import { createRoomFeeds } from "../../src/realtime/room-feeds.ts";
import type { SocketHandle } from "../../src/realtime/socket.ts";
import { roomTopic } from "../../src/realtime/topics.ts";

function recordingSocket(): SocketHandle & { frames: string[] } {
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
  };
}

/**
 * The screen behind "a block hides presence and typing both ways": room feeds ask it, per frame without a seq,
 * which subscribed sockets to leave out; those sockets get nothing of that frame and everything else, in order.
 */
describe("presence screen", () => {
  const [bob, cat] = [crypto.randomUUID(), crypto.randomUUID()];
  const roomId = crypto.randomUUID();

  async function room() {
    const bus = createMemoryBus();
    const fanout = createMemoryFanout();
    const screen = createPresenceScreen();
    const feeds = createRoomFeeds({
      bus,
      fanout,
      history: { position: async () => null, positions: async () => new Map(), range: async () => [] },
      logger: createLogger({ level: "silent" }),
      gapWaitMs: 30,
      tailCheckMs: 0,
      withheld: screen.withheld,
    });
    await feeds.retain(roomId);
    const join = (): { socket: ReturnType<typeof recordingSocket>; viewer: ScreenedSocket } => {
      const socket = recordingSocket();
      fanout.subscribe(socket, roomTopic(roomId));
      return { socket, viewer: { socket, subscribedTo: (id) => id === roomId } };
    };
    const publish = (event: Parameters<typeof encodeEvent>[0]) => bus.publish(roomTopic(roomId), encodeEvent(event));
    return { screen, join, publish, feeds };
  }

  const typesAbout = (frames: string[]) => frames.map((frame) => JSON.parse(frame) as { type: string; userId?: string }).map((event) => `${event.type}:${event.userId === bob ? "bob" : event.userId === cat ? "cat" : "?"}`);

  it("withholds presence and typing of hidden users from that socket only, and keeps the order of everything else", async () => {
    const { screen, join, publish } = await room();
    const annSocket = join();
    const catSocket = join();
    screen.set(annSocket.viewer, new Set([bob]));
    await publish({ type: "typing", roomId, userId: bob, active: true });
    await publish({ type: "presence", roomId, userId: bob, status: "away", lastSeenAt: null });
    await publish({ type: "typing", roomId, userId: cat, active: true });
    await publish({ type: "receipt.updated", roomId, userId: bob, readSeq: 1 });
    expect(typesAbout(annSocket.socket.frames)).toEqual(["typing:cat", "receipt.updated:bob"]);
    expect(typesAbout(catSocket.socket.frames)).toEqual(["typing:bob", "presence:bob", "typing:cat", "receipt.updated:bob"]);
    // Still subscribed afterwards: the next frame reaches it.
    await publish({ type: "typing", roomId, userId: cat, active: false });
    expect(annSocket.socket.frames).toHaveLength(3);
  });

  it("lets everything through again once the set is emptied or the socket forgotten, and asks nothing while no socket hides anyone", async () => {
    const { screen, join, publish } = await room();
    const annSocket = join();
    screen.set(annSocket.viewer, new Set([bob]));
    expect(screen.withheld(roomId, encodeEvent({ type: "typing", roomId, userId: bob, active: true }))).toEqual([annSocket.socket]);
    screen.set(annSocket.viewer, new Set());
    expect(screen.withheld(roomId, encodeEvent({ type: "typing", roomId, userId: bob, active: true }))).toBeNull();
    screen.set(annSocket.viewer, new Set([bob]));
    screen.forget(annSocket.viewer);
    // Not even parsed: with nobody hiding anyone, an undecodable frame is no different.
    expect(screen.withheld(roomId, "not json")).toBeNull();
    await publish({ type: "typing", roomId, userId: bob, active: true });
    expect(typesAbout(annSocket.socket.frames)).toEqual(["typing:bob"]);
  });

  it("leaves out only sockets subscribed to the room the frame is for", async () => {
    const { screen, join } = await room();
    const attached = join();
    const elsewhere = recordingSocket();
    screen.set(attached.viewer, new Set([bob]));
    screen.set({ socket: elsewhere, subscribedTo: () => false }, new Set([bob]));
    expect(screen.withheld(roomId, encodeEvent({ type: "presence", roomId, userId: bob, status: "online", lastSeenAt: null }))).toEqual([attached.socket]);
  });
});
