import WebSocket from "ws";
import { createParleyClient, type ParleyClient, type RealtimeEvents } from "../../client-sdk/src/index.ts";
import type { ResumePositions, Room, ServerEvent, UserProfile } from "../../src/contract.ts";
import { createEventLog } from "./event-log.ts";
import { uniqueUsername } from "./factories.ts";
import { openTestSocket, type TestSocket } from "./socket-client.ts";

export interface Chatter {
  user: UserProfile;
  client: ParleyClient;
  /** Every realtime event the SDK delivered, in order. */
  events: ServerEvent[];
  /** Resolves with the first delivered event (past or within the timeout) that matches. */
  waitFor<K extends keyof RealtimeEvents>(type: K, predicate?: (event: RealtimeEvents[K]) => boolean, timeoutMs?: number): Promise<RealtimeEvents[K]>;
  /** message.created bodies delivered for a room, in delivery order. */
  bodies(roomId: string): string[];
}

/** Registers a fresh user through the SDK (refresh token in the body, as non-browser clients do). */
export async function registerChatter(url: string, name = "chatter"): Promise<Chatter> {
  const client = createParleyClient({
    url,
    WebSocket,
    reconnect: { minDelayMs: 50, maxDelayMs: 500 },
  });
  const username = uniqueUsername(name);
  const user = await client.register({ email: `${username}@example.test`, username, password: "correct horse battery staple" });
  const log = createEventLog<ServerEvent>();
  const types: (keyof RealtimeEvents)[] = [
    "message.created", "typing", "member.joined", "member.left", "room.updated", "presence",
    "room.membership", "ready", "ack", "resumed", "error", "pong", "receipt.updated", "unread.updated",
  ];
  for (const type of types) {
    client.realtime.on(type, (event) => log.push(event as ServerEvent));
  }
  return {
    user,
    client,
    events: log.events,
    bodies: (roomId) =>
      log.events.flatMap((event) => (event.type === "message.created" && event.roomId === roomId ? [event.message.body] : [])),
    waitFor: (type, predicate = () => true, timeoutMs = 8000) =>
      log.waitFor<never>((event) => event.type === type && predicate(event as never), timeoutMs, String(type)),
  };
}

/** Polls `condition` until it holds (for counts that converge), failing with `describe()` after the timeout. */
export async function eventually(condition: () => boolean, describe: () => string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A raw socket for `who` on `serverUrl` (a ticket carrying `resume`, if given), once the server said `ready`. */
export async function openChatterSocket(serverUrl: string, who: Chatter, resume?: ResumePositions): Promise<TestSocket> {
  const { ticket } = await who.client.api.auth.wsTicket.mutate(resume ? { resume } : {});
  const socket = await openTestSocket(`${serverUrl.replace("http", "ws")}/ws?ticket=${ticket}`);
  // Generous: a ticket that resumes a large room is answered after its replay, slow on a loaded machine.
  await socket.waitFor((event) => event.type === "ready", 20_000);
  return socket;
}

/**
 * A public room created by `owner` that every one of `members` joined, as it is after their joins: each took a
 * seq, so the first message sent next is `room.lastSeq + 1`.
 */
export async function publicRoom(owner: Chatter, ...members: Chatter[]): Promise<Room> {
  let room = await owner.client.api.rooms.create.mutate({ name: `room ${Math.random()}`, kind: "public" });
  for (const member of members) room = await member.client.api.rooms.join.mutate({ roomId: room.id });
  return room;
}

/** Where a client that has seen `seq` of `room` stands, for a ticket's resume map or a `resume` frame. */
export function positionIn(room: Pick<Room, "id" | "epoch">, seq: number): ResumePositions {
  return { [room.id]: { seq, epoch: room.epoch } };
}
