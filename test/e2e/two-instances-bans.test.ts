import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { LoggedRoomEvent, ServerEvent } from "../../src/contract.ts";
import { type Chatter, eventually, openChatterSocket, publicRoom, registerChatter } from "../support/chatters.ts";
import { createPostgresTestDatabase } from "../support/databases.ts";
import { uniqueRedisPrefix } from "../support/redis.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";
import type { TestSocket } from "../support/socket-client.ts";

const postgresUrl = inject("postgresUrl");
const redisUrl = inject("redisUrl");

type Ack = Extract<ServerEvent, { type: "ack" }>;
type ErrorFrame = Extract<ServerEvent, { type: "error" }>;

/**
 * A ban issued on one instance, against a user whose socket is on the other: it must reach that socket within 5 s
 * (it drops the room), and a send racing it is decided by the room's lock — refused, or committed at a seq before
 * the ban's `member.left`, never after.
 */
describe.skipIf(!postgresUrl || !redisUrl)("bans across two Bun instances on one Postgres and Redis", () => {
  const prefix = uniqueRedisPrefix();
  let database: { url: string; drop(): Promise<void> };
  let a: ServerProcess;
  let b: ServerProcess;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl as string, REDIS_PREFIX: prefix };
    [a, b] = await Promise.all([startServer("bun", { ...env, INSTANCE_ID: "ban-a" }), startServer("bun", { ...env, INSTANCE_ID: "ban-b" })]);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  async function socketOn(server: ServerProcess, who: Chatter): Promise<TestSocket> {
    const socket = await openChatterSocket(server.url, who);
    sockets.push(socket);
    return socket;
  }

  /** Every logged event of the room after `after`, from Postgres, as `reader` pages them. */
  async function logOf(reader: Chatter, roomId: string, after: number): Promise<LoggedRoomEvent[]> {
    const events: LoggedRoomEvent[] = [];
    for (let position = after; ; ) {
      const page = await reader.client.api.rooms.events.query({ roomId, after: position });
      events.push(...page.events);
      if (!page.hasMore) return events;
      position = page.events.at(-1)?.seq ?? page.lastSeq;
    }
  }

  it("detaches the banned user's socket on B within 5 s of a ban through A: no more room events, and their sends are refused", async () => {
    const alice = await registerChatter(a.url, "alice");
    const bob = await registerChatter(a.url, "bob");
    const room = await publicRoom(alice, bob);
    const bobOnB = await socketOn(b, bob);
    const aliceOnB = await socketOn(b, alice);

    const bannedAt = Date.now();
    await alice.client.api.rooms.ban.mutate({ roomId: room.id, userId: bob.user.id, reason: "spam" }); // through A
    await bobOnB.waitFor((event) => event.type === "room.membership" && event.roomId === room.id && event.membership === "banned", 5000);
    expect(Date.now() - bannedAt).toBeLessThan(5000);
    await aliceOnB.waitFor((event) => event.type === "member.left" && event.roomId === room.id && event.reason === "banned", 5000);

    await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "after-the-ban", body: "bob is gone" });
    await aliceOnB.waitFor((event) => event.type === "message.created" && event.roomId === room.id);
    expect(bobOnB.events.some((event) => event.type === "message.created" && event.roomId === room.id)).toBe(false);

    bobOnB.send({ type: "send", roomId: room.id, clientMsgId: "banned-says-hi", body: "let me in" });
    const refused = await bobOnB.waitFor<ErrorFrame>((event) => event.type === "error" && event.clientMsgId === "banned-says-hi");
    expect(refused.code).toBe("FORBIDDEN");
    await expect(bob.client.api.rooms.join.mutate({ roomId: room.id })).rejects.toMatchObject({ data: { code: "FORBIDDEN" } });
  });

  it("commits a send racing the ban before the ban's member.left, or refuses it — never after", async () => {
    const alice = await registerChatter(a.url, "alice");
    const bob = await registerChatter(a.url, "bob");
    const room = await publicRoom(alice, bob);
    const bobOnB = await socketOn(b, bob);

    // Bob keeps sending through B while Alice bans him through A; a few more go after the ban returned.
    const sent: string[] = [];
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        const clientMsgId = `race-${String(i).padStart(4, "0")}`;
        sent.push(clientMsgId);
        bobOnB.send({ type: "send", roomId: room.id, clientMsgId, body: `#${i}` });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    // The race needs a before: ban once the first send committed, while the next ones are on their way.
    await bobOnB.waitFor((event) => event.type === "ack", 8000);
    await alice.client.api.rooms.ban.mutate({ roomId: room.id, userId: bob.user.id });
    for (let i = 0; i < 5; i++) {
      const clientMsgId = `late-000${i}`;
      sent.push(clientMsgId);
      bobOnB.send({ type: "send", roomId: room.id, clientMsgId, body: `late ${i}` });
    }
    sending = false;
    await sender;

    // Every send is answered: an ack with its message, or an error.
    const answerOf = (clientMsgId: string): Ack | ErrorFrame | undefined =>
      bobOnB.events.find((event): event is Ack | ErrorFrame => (event.type === "ack" || event.type === "error") && event.clientMsgId === clientMsgId);
    await eventually(
      () => sent.every((id) => answerOf(id) !== undefined),
      () => `${sent.filter((id) => !answerOf(id)).join()} of ${sent.length} unanswered; last events: ${JSON.stringify(bobOnB.events.slice(-8))}`,
    );

    const log = await logOf(alice, room.id, room.lastSeq);
    const left = log.find((event) => event.type === "member.left" && event.userId === bob.user.id);
    expect(left).toMatchObject({ type: "member.left", reason: "banned" });
    const banSeq = left?.seq ?? 0;
    const bobsMessages = log.filter((event) => event.type === "message.created" && event.message.sender.id === bob.user.id);
    for (const event of bobsMessages) expect(event.seq).toBeLessThan(banSeq);
    const acked = sent.flatMap((id) => {
      const answer = answerOf(id);
      return answer?.type === "ack" ? [answer.message.seq] : [];
    });
    expect(acked.length).toBeGreaterThan(0); // the race had a before
    for (const seq of acked) expect(seq).toBeLessThan(banSeq);
    expect(acked.length).toBe(bobsMessages.length);
    // The sends made after the ban returned are all refused.
    for (let i = 0; i < 5; i++) expect(answerOf(`late-000${i}`)?.type).toBe("error");
  });

  it("refuses, on B, typing and reactions of a member muted through A (reason MUTED), and lets them read on", async () => {
    const alice = await registerChatter(a.url, "alice");
    const bob = await registerChatter(b.url, "bob");
    const room = await publicRoom(alice, bob);
    const message = await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "before-the-mute", body: "hi" });
    const bobOnB = await socketOn(b, bob);
    await alice.client.api.rooms.mute.mutate({ roomId: room.id, userId: bob.user.id, durationSeconds: 600 }); // through A
    await bobOnB.waitFor((event) => event.type === "member.muted" && event.userId === bob.user.id, 5000);
    bobOnB.send({ type: "typing", roomId: room.id, active: true });
    const refused = await bobOnB.waitFor<ErrorFrame>((event) => event.type === "error" && event.roomId === room.id, 5000);
    expect(refused).toMatchObject({ code: "FORBIDDEN", reason: "MUTED" });
    await expect(bob.client.api.messages.react.mutate({ messageId: message.id, emoji: "👍" })).rejects.toMatchObject({
      data: { code: "FORBIDDEN", reason: "MUTED" },
    });
    await alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "after-the-mute", body: "still read" });
    await bobOnB.waitFor((event) => event.type === "message.created" && event.message.body === "still read", 5000);
  });
});
