import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ServerEvent } from "../../src/contract.ts";
import { openChatterSocket, publicRoom, registerChatter, type Chatter } from "../support/chatters.ts";
import { createPostgresTestDatabase } from "../support/databases.ts";
import { uniqueRedisPrefix } from "../support/redis.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";
import type { TestSocket } from "../support/socket-client.ts";

type ErrorFrame = Extract<ServerEvent, { type: "error" }>;
type Ack = Extract<ServerEvent, { type: "ack" }>;

const postgresUrl = inject("postgresUrl");
const redisUrl = inject("redisUrl");

/**
 * The send gate is decided in Postgres under the room's lock, so it holds whichever instance takes the send: slow
 * mode counts a member's message sent through A when they send next through B, and a mute refuses on both.
 */
describe.skipIf(!postgresUrl || !redisUrl)("the send gate on two Bun instances", () => {
  let database: { url: string; drop(): Promise<void> };
  let sql: postgres.Sql;
  let a: ServerProcess;
  let b: ServerProcess;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl as string, REDIS_PREFIX: uniqueRedisPrefix() };
    [a, b] = await Promise.all([startServer("bun", { ...env, INSTANCE_ID: "gate-a" }), startServer("bun", { ...env, INSTANCE_ID: "gate-b" })]);
    sql = postgres(database.url, { max: 1, onnotice: () => {} });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await Promise.all([a?.stop(), b?.stop()]);
    await sql?.end();
    await database?.drop();
  });

  async function socketOn(server: ServerProcess, who: Chatter): Promise<TestSocket> {
    const socket = await openChatterSocket(server.url, who);
    sockets.push(socket);
    return socket;
  }

  /** Sends over the socket and resolves with the server's answer to that send: its ack or its error. */
  async function sendOn(socket: TestSocket, roomId: string, clientMsgId: string): Promise<Ack | ErrorFrame> {
    socket.send({ type: "send", roomId, clientMsgId, body: clientMsgId });
    return socket.waitFor<Ack | ErrorFrame>((event) => (event.type === "ack" || event.type === "error") && event.clientMsgId === clientMsgId, 5000);
  }

  it("refuses a member's send on B right after their send on A, with SLOW_MODE and retryAfterSeconds", async () => {
    const owner = await registerChatter(a.url, "owner");
    const ann = await registerChatter(a.url, "ann");
    const room = await publicRoom(owner, ann);
    await owner.client.api.rooms.update.mutate({ roomId: room.id, settings: { slowModeSeconds: 60 } });
    const [annOnA, annOnB] = [await socketOn(a, ann), await socketOn(b, ann)];

    expect(await sendOn(annOnA, room.id, "slow-on-a-0001")).toMatchObject({ type: "ack" });
    expect(await sendOn(annOnB, room.id, "slow-on-b-0001")).toEqual({
      type: "error",
      code: "TOO_MANY_REQUESTS",
      message: "slow mode: one message every 60 seconds",
      clientMsgId: "slow-on-b-0001",
      retryAfterSeconds: expect.any(Number),
      reason: "SLOW_MODE",
    });
    const refused = annOnB.events.find((event): event is ErrorFrame => event.type === "error" && event.clientMsgId === "slow-on-b-0001");
    expect(refused?.retryAfterSeconds).toBeGreaterThan(50);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(60);
    // Over HTTP on A too; the owner is exempt on both instances.
    await expect(ann.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "slow-http-0001", body: "hi" })).rejects.toMatchObject({
      data: { code: "TOO_MANY_REQUESTS", reason: "SLOW_MODE" },
    });
    expect(await sendOn(await socketOn(b, owner), room.id, "owner-exempt-01")).toMatchObject({ type: "ack" });
    expect(await sendOn(await socketOn(a, owner), room.id, "owner-exempt-02")).toMatchObject({ type: "ack" });
  });

  it("refuses a muted member's send on either instance (reason MUTED), and lets others post", async () => {
    const owner = await registerChatter(a.url, "owner");
    const bob = await registerChatter(b.url, "bob");
    const room = await publicRoom(owner, bob);
    // Muting is moderation.mute's; the row it writes is what the gate reads.
    await sql`insert into room_mutes (room_id, user_id, muted_by) values (${room.id}, ${bob.user.id}, ${owner.user.id})`;
    const [bobOnA, bobOnB] = [await socketOn(a, bob), await socketOn(b, bob)];
    for (const [socket, id] of [[bobOnA, "muted-on-a-01"], [bobOnB, "muted-on-b-01"]] as const) {
      expect(await sendOn(socket, room.id, id)).toEqual({ type: "error", code: "FORBIDDEN", message: "muted in this room", clientMsgId: id, reason: "MUTED" });
    }
    await expect(bob.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: "muted-http-01", body: "hi" })).rejects.toMatchObject({
      data: { code: "FORBIDDEN", reason: "MUTED" },
    });
    expect(await sendOn(await socketOn(b, owner), room.id, "owner-posts-01")).toMatchObject({ type: "ack" });
    const history = await owner.client.api.messages.list.query({ roomId: room.id });
    expect(history.messages.map((message) => message.body)).toEqual(["owner-posts-01"]);
  });
});
