import WebSocket from "ws";
import { createParleyClient, type ParleyClient, type RealtimeEvents } from "../../client-sdk/src/index.ts";
import type { ServerEvent, UserProfile } from "../../src/contract.ts";
import { uniqueUsername } from "./factories.ts";

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
    WebSocket: WebSocket as never,
    reconnect: { minDelayMs: 50, maxDelayMs: 500 },
  });
  const username = uniqueUsername(name);
  const user = await client.register({ email: `${username}@example.test`, username, password: "correct horse battery staple" });
  const events: ServerEvent[] = [];
  const listeners = new Set<() => void>();
  const types: (keyof RealtimeEvents)[] = [
    "message.created", "typing", "member.joined", "member.left", "room.updated", "presence",
    "room.membership", "ready", "ack", "resumed", "error", "pong", "receipt.updated", "unread.updated",
  ];
  for (const type of types) {
    client.realtime.on(type, (event) => {
      events.push(event as ServerEvent);
      for (const listener of listeners) listener();
    });
  }
  return {
    user,
    client,
    events,
    bodies: (roomId) =>
      events.flatMap((event) => (event.type === "message.created" && event.roomId === roomId ? [event.message.body] : [])),
    waitFor: (type, predicate = () => true, timeoutMs = 8000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = events.find((event) => event.type === type && predicate(event as never));
          if (!found) return false;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(found as never);
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no ${String(type)} within ${timeoutMs} ms; got ${JSON.stringify(events).slice(-1500)}`));
        }, timeoutMs);
        if (!check()) listeners.add(check);
      }),
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
