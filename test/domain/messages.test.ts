import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageFixture } from "../support/message-fixture.ts";
import type { EventPublisher } from "../../src/domain/events.ts";
import { createMessageService } from "../../src/domain/messages/messages.service.ts";
import { createRoomLog } from "../../src/domain/room-log/room-log.ts";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { createMemoryRateLimiter } from "../../src/infra/rate-limit/memory.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser } from "../support/factories.ts";
import { type LogReader, logReader } from "../support/room-log.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { inviteAndAccept, token } from "./room-fixtures.ts";
import { callerFor, domainError, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

describe.each(databaseKinds)("messages.send on %s", (kind) => {
  let deps: TestDeps;
  let log: LogReader;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
    log = logReader(deps.services.roomLog);
  });
  afterAll(async () => {
    await deps?.close();
  });

  async function roomWith(count: number): Promise<{ room: Room; members: UserPublic[] }> {
    const members = await Promise.all(Array.from({ length: count }, () => createUser(deps.database)));
    const [owner, ...rest] = members;
    const room = await deps.services.rooms.create(owner!.id, { name: token(), kind: "private" });
    for (const member of rest) await inviteAndAccept(deps, owner!.id, room.id, member.id);
    return { room, members };
  }

  /** Where a room's log stands before a spec sends anything: each invitation took a seq. */
  const position = (roomId: string): Promise<number> => log.lastSeq(roomId);

  it("commits with the room's next seq, then publishes exactly the message it returns", async () => {
    const { room, members } = await roomWith(2);
    const [alice, bob] = members as [UserPublic, UserPublic];
    const base = await position(room.id);
    expect(base).toBe(1); // bob's member.joined
    const events = await deps.recordEvents({ roomId: room.id });
    const first = await callerFor(deps.services, alice.id).messages.send({ roomId: room.id, clientMsgId: `c-${token()}`, body: " hello " });
    const second = await deps.services.messages.send(bob.id, { roomId: room.id, clientMsgId: `c-${token()}`, body: "hi\n\tthere" });
    // A plain text message: nothing edited, quoted, threaded, mentioned, reacted to or pinned.
    expect(first).toEqual(messageFixture({ id: expect.any(String), roomId: room.id, seq: 2, sender: alice, body: "hello", createdAt: expect.any(String) }));
    expect(new Date(first.createdAt).toISOString()).toBe(first.createdAt);
    expect(second).toMatchObject({ created: true, message: { seq: 3, sender: bob, body: "hi\n\tthere" } });
    await settle();
    expect(events).toEqual([
      { type: "message.created", roomId: room.id, seq: 2, message: first },
      { type: "message.created", roomId: room.id, seq: 3, message: second.message },
    ]);
    // Byte for byte what list and the log (cache and Postgres alike) return.
    const listed = await deps.services.messages.list(alice.id, { roomId: room.id, limit: 50 });
    expect(JSON.stringify(listed.messages)).toBe(JSON.stringify([first, second.message]));
    expect(JSON.stringify(await log.messages(room.id, 1))).toBe(JSON.stringify([first, second.message]));
    await deps.recentEvents.forget(room.id);
    expect(JSON.stringify(await log.messages(room.id, 1))).toBe(JSON.stringify([first, second.message]));
    expect(await position(room.id)).toBe(3);
    expect(await position(crypto.randomUUID())).toBe(0);
  });

  it("returns the original for a retry with the same clientMsgId, publishing nothing", async () => {
    const { room, members } = await roomWith(1);
    const [alice] = members as [UserPublic];
    const clientMsgId = `retry-${token()}`;
    const original = await deps.services.messages.send(alice.id, { roomId: room.id, clientMsgId, body: "Cafe\u0301" });
    const events = await deps.recordEvents({ roomId: room.id });
    // The retry is normalised the same way, so a decomposed é still matches.
    const retry = await deps.services.messages.send(alice.id, { roomId: room.id, clientMsgId, body: "Café" });
    expect(retry).toEqual({ created: false, message: original.message });
    expect(await callerFor(deps.services, alice.id).messages.send({ roomId: room.id, clientMsgId, body: "Café" })).toEqual(
      original.message,
    );
    await settle();
    expect(events).toEqual([]);
    expect(await position(room.id)).toBe(1);
  });

  it("refuses a clientMsgId reused for a different body or room with CONFLICT", async () => {
    const { room, members } = await roomWith(1);
    const [alice] = members as [UserPublic];
    const other = await deps.services.rooms.create(alice.id, { name: token(), kind: "public" });
    const clientMsgId = `dup-${token()}`;
    await deps.services.messages.send(alice.id, { roomId: room.id, clientMsgId, body: "one" });
    const caller = callerFor(deps.services, alice.id);
    const conflict = { code: "CONFLICT", message: "clientMsgId was already used for a different message" };
    expect(await trpcError(caller.messages.send({ roomId: room.id, clientMsgId, body: "two" }))).toMatchObject(conflict);
    expect(await trpcError(caller.messages.send({ roomId: other.id, clientMsgId, body: "one" }))).toMatchObject(conflict);
    expect(await position(other.id)).toBe(0);
    // Another sender may use the same id: it is scoped to its sender.
    const bob = await createUser(deps.database);
    await deps.services.rooms.join(bob.id, other.id);
    expect(await deps.services.messages.send(bob.id, { roomId: other.id, clientMsgId, body: "one" })).toMatchObject({ created: true });
  });

  it("commits concurrent duplicates once: the losers roll back their seq and return the winner", async () => {
    const { room, members } = await roomWith(1);
    const [alice] = members as [UserPublic];
    const events = await deps.recordEvents({ roomId: room.id });
    const input = { roomId: room.id, clientMsgId: `race-${token()}`, body: "once" };
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => deps.services.messages.send(alice.id, input)));
    expect(outcomes.filter((outcome) => outcome.created)).toHaveLength(1);
    expect(new Set(outcomes.map((outcome) => outcome.message.id)).size).toBe(1);
    expect(await position(room.id)).toBe(1);
    const next = await deps.services.messages.send(alice.id, { roomId: room.id, clientMsgId: `next-${token()}`, body: "after" });
    expect(next.message.seq).toBe(2);
    await settle();
    expect(events.map((event) => event.type)).toEqual(["message.created", "message.created"]);
  });

  it("numbers 5 users × 20 concurrent sends after the 4 joins, 5..104, with no gaps or duplicates", async () => {
    const { room, members } = await roomWith(5);
    expect(await position(room.id)).toBe(4);
    const sends = members.flatMap((member) =>
      Array.from({ length: 20 }, (_, i) =>
        deps.services.messages.send(member.id, { roomId: room.id, clientMsgId: `burst-${i}-${token()}`, body: `#${i}` }),
      ),
    );
    const outcomes = await Promise.all(sends);
    const seqs = outcomes.map((outcome) => outcome.message.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 5));
    expect(await position(room.id)).toBe(104);
    const stored = await log.messages(room.id);
    expect(stored.map((message) => message.seq)).toEqual(seqs);
    // Seq order is commit order: creation times never go backwards along the sequence.
    const times = stored.map((message) => Date.parse(message.createdAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const [listed] = await deps.services.rooms.list(members[0]!.id);
    expect(listed).toMatchObject({ id: room.id, lastSeq: 104, lastMessage: stored[99] });
  });

  it("refuses non-members and rooms that do not exist alike, bumping nothing", async () => {
    const { room } = await roomWith(1);
    const outsider = await createUser(deps.database);
    const send = (roomId: string): Promise<unknown> =>
      deps.services.messages.send(outsider.id, { roomId, clientMsgId: `x-${token()}`, body: "let me in" });
    expect(await domainError(send(room.id))).toMatchObject(NOT_A_MEMBER);
    expect(await domainError(send(crypto.randomUUID()))).toMatchObject(NOT_A_MEMBER);
    expect(await position(room.id)).toBe(0);
  });

  it("validates its input itself, for callers that bypass the router (the realtime layer)", async () => {
    const { room, members } = await roomWith(1);
    const send = deps.services.messages.send(members[0]!.id, { roomId: room.id, clientMsgId: `v-${token()}`, body: " \n " });
    expect(await domainError(send)).toMatchObject({ code: "BAD_REQUEST", message: "body must not be empty" });
  });

  it("answers TOO_MANY_REQUESTS with retryAfterSeconds past the per-user send rate", async () => {
    const { room, members } = await roomWith(2);
    const [alice, bob] = members as [UserPublic, UserPublic];
    const messages = createMessageService({
      database: deps.database,
      rooms: deps.services.rooms,
      log: deps.services.roomLog,
      rateLimiter: createMemoryRateLimiter({ clock: deps.clock }),
      logger: deps.logger,
      sendRate: { capacity: 2, periodSeconds: 60 },
      metrics: deps.metrics,
    });
    const send = (user: UserPublic): Promise<unknown> =>
      messages.send(user.id, { roomId: room.id, clientMsgId: `r-${token()}`, body: "spam" });
    await send(alice);
    await send(alice);
    const limited = await domainError(send(alice));
    expect(limited).toMatchObject({ code: "TOO_MANY_REQUESTS", retryAfterSeconds: 30 });
    await send(bob); // per user
    deps.clock.advance(30_000);
    await send(alice);
    expect(await position(room.id)).toBe(5); // bob's join, then four sends
  });

  it("still returns the committed message when publishing fails, and logs it", async () => {
    const { room, members } = await roomWith(1);
    const lines: string[] = [];
    const failing: EventPublisher = {
      toRoom: () => Promise.reject(new Error("bus down")),
      toUser: () => Promise.reject(new Error("bus down")),
      toInstances: () => Promise.reject(new Error("bus down")),
    };
    const logger = createLogger({ level: "error", write: (line) => lines.push(line) });
    const messages = createMessageService({
      database: deps.database,
      rooms: deps.services.rooms,
      log: createRoomLog({ database: deps.database, events: failing, recentEvents: deps.recentEvents, logger }),
      rateLimiter: deps.rateLimiter,
      logger,
      sendRate: { capacity: 100, periodSeconds: 1 },
      metrics: deps.metrics,
    });
    const outcome = await messages.send(members[0]!.id, { roomId: room.id, clientMsgId: `p-${token()}`, body: "durable" });
    expect(outcome).toMatchObject({ created: true, message: { seq: 1, body: "durable" } });
    expect(await log.messages(room.id)).toEqual([outcome.message]);
    expect(lines.map((line) => JSON.parse(line) as { msg: string; seq: number })).toMatchObject([
      { msg: "room event not published", seq: 1, type: "message.created" },
    ]);
  });
});
