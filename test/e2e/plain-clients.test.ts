import { createTRPCClient, httpBatchLink, type TRPCClient } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { AppRouter, ResumePositions, ServerEvent } from "../../src/contract.ts";
import { uniqueUsername } from "../support/factories.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";

/**
 * Parley tried as a new user would, without its SDK: the official tRPC client (httpBatchLink, no transformer)
 * typed by `AppRouter`, and a plain WebSocket speaking the documented frames. Two people chat in real time; one
 * drops off, misses messages, comes back with a resume position and gets exactly what was missed, then goes live.
 */
describe("plain tRPC client and plain WebSocket against Bun", () => {
  let server: ServerProcess;
  const opened: WebSocket[] = [];

  beforeAll(async () => {
    server = await startServer("bun");
  });
  afterAll(async () => {
    for (const socket of opened) socket.terminate();
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  /** A tRPC client as the tRPC docs write it; `token` (if any) goes in the Authorization header. */
  function trpc(token?: string): TRPCClient<AppRouter> {
    return createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${server.url}/trpc`, maxItems: 16, headers: () => (token ? { authorization: `Bearer ${token}` } : {}) })],
    });
  }

  async function signUp(name: string): Promise<{ userId: string; api: TRPCClient<AppRouter> }> {
    const username = uniqueUsername(name);
    const signedIn = await trpc().auth.register.mutate({
      email: `${username}@example.test`,
      username,
      password: "correct horse battery staple",
      refreshTokenIn: "body",
    });
    expect(signedIn.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    return { userId: signedIn.user.id, api: trpc(signedIn.accessToken) };
  }

  /** A plain socket on a fresh ticket: every event it receives, and a way to wait for one. */
  async function connect(api: TRPCClient<AppRouter>, resume?: ResumePositions) {
    const { ticket } = await api.auth.wsTicket.mutate(resume ? { resume } : {});
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/ws?ticket=${ticket}`);
    opened.push(socket);
    const events: ServerEvent[] = [];
    const waiters = new Set<() => void>();
    socket.on("message", (data) => {
      events.push(JSON.parse(data.toString()) as ServerEvent);
      for (const waiter of waiters) waiter();
    });
    const waitFor = <T extends ServerEvent>(match: (event: ServerEvent) => boolean): Promise<T> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.find(match);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found as T);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such event within 8 s; got ${JSON.stringify(events).slice(0, 1500)}`));
        }, 8000);
        waiters.add(check);
        check();
      });
    const send = (frame: Record<string, unknown>): void => socket.send(JSON.stringify(frame));
    await waitFor((event) => event.type === "ready");
    return { socket, events, waitFor, send };
  }

  type MessageCreated = Extract<ServerEvent, { type: "message.created" }>;
  const created = (events: ServerEvent[], roomId: string): MessageCreated[] =>
    events.filter((event): event is MessageCreated => event.type === "message.created" && event.roomId === roomId);

  it("chats in real time, then resumes a dropped socket with exactly the missed messages, in order, and goes live", async () => {
    const alice = await signUp("alice");
    const bob = await signUp("bob");
    const room = await alice.api.rooms.create.mutate({ name: "plain clients", kind: "public" });
    // Bob's join is the room's first event (seq 1): messages follow it.
    const joined = await bob.api.rooms.join.mutate({ roomId: room.id });
    expect(joined).toMatchObject({ lastSeq: 1, epoch: room.epoch });

    const aliceSocket = await connect(alice.api);
    const bobFirst = await connect(bob.api);
    expect(bobFirst.events.find((event) => event.type === "ready")).toMatchObject({
      userId: bob.userId,
      rooms: [{ roomId: room.id, lastSeq: 1, epoch: room.epoch }],
    });

    // Real time: a send is acknowledged to its sender after commit and delivered to everyone in the room.
    aliceSocket.send({ type: "send", roomId: room.id, clientMsgId: "alice-hello-1", body: "hi bob" });
    const ack = await aliceSocket.waitFor<Extract<ServerEvent, { type: "ack" }>>((event) => event.type === "ack");
    expect(ack.message).toMatchObject({ roomId: room.id, seq: 2, body: "hi bob", sender: { id: alice.userId } });
    expect((await bobFirst.waitFor<MessageCreated>((event) => event.type === "message.created")).message).toEqual(ack.message);
    await aliceSocket.waitFor((event) => event.type === "message.created" && event.seq === 2);
    bobFirst.send({ type: "send", roomId: room.id, clientMsgId: "bob-reply-1", body: "hi alice" });
    await aliceSocket.waitFor((event) => event.type === "message.created" && event.seq === 3);
    await bobFirst.waitFor((event) => event.type === "ack" && event.message.seq === 3);
    const lastSeen = Math.max(...created(bobFirst.events, room.id).map((event) => event.seq));
    expect(lastSeen).toBe(3);

    // Bob's network drops; the room moves on without him.
    bobFirst.socket.terminate();
    for (const body of ["while you were out", "still out?", "third one"]) {
      aliceSocket.send({ type: "send", roomId: room.id, clientMsgId: `alice-away-${body.length}-${body.at(0)}`, body });
      await aliceSocket.waitFor((event) => event.type === "ack" && event.message.body === body);
    }

    // He comes back with where he was: exactly the missed messages, in order, then `resumed`, then live.
    const bobAgain = await connect(bob.api, { [room.id]: { seq: lastSeen, epoch: room.epoch } });
    const replayed = created(bobAgain.events, room.id);
    expect(replayed.map((event) => [event.seq, event.message.body])).toEqual([
      [4, "while you were out"],
      [5, "still out?"],
      [6, "third one"],
    ]);
    const resumedAt = bobAgain.events.findIndex((event) => event.type === "resumed");
    expect(bobAgain.events[resumedAt]).toEqual({ type: "resumed", roomId: room.id, recovered: true, missed: null, epoch: room.epoch, reset: false });
    expect(bobAgain.events.findIndex((event) => event.type === "message.created" && event.seq === 6)).toBeLessThan(resumedAt);

    aliceSocket.send({ type: "send", roomId: room.id, clientMsgId: "alice-welcome-back", body: "welcome back" });
    await bobAgain.waitFor((event) => event.type === "message.created" && event.seq === 7);
    bobAgain.send({ type: "send", roomId: room.id, clientMsgId: "bob-thanks-1", body: "thanks" });
    await aliceSocket.waitFor((event) => event.type === "message.created" && event.seq === 8);
    await bobAgain.waitFor((event) => event.type === "message.created" && event.seq === 8);
    await new Promise((resolve) => setTimeout(resolve, 150)); // room for a stray duplicate to show up

    // No loss, no duplicates: what each person saw is the room's history, as the API lists it.
    const history = await bob.api.messages.list.query({ roomId: room.id, limit: 100 });
    expect(history.messages.map((message) => message.seq)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    const bobSaw = [...created(bobFirst.events, room.id), ...created(bobAgain.events, room.id)].map((event) => event.message);
    expect(bobSaw).toEqual(history.messages);
    expect(created(aliceSocket.events, room.id).map((event) => event.message)).toEqual(history.messages);
  });

  it("reports refusals through the tRPC client as typed errors", async () => {
    const alice = await signUp("alice");
    await expect(trpc().auth.me.query()).rejects.toMatchObject({ data: { code: "UNAUTHORIZED", httpStatus: 401 } });
    await expect(alice.api.messages.send.mutate({ roomId: crypto.randomUUID(), clientMsgId: "nowhere-1", body: "?" })).rejects.toMatchObject({
      data: { code: "FORBIDDEN" },
    });
    await expect(alice.api.rooms.create.mutate({ name: "", kind: "public" })).rejects.toMatchObject({
      data: { code: "BAD_REQUEST", issues: [{ path: ["name"], message: "name must not be empty" }] },
    });
  });
});
