import { eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SendOutcome } from "../../src/domain/messages/messages.service.ts";
import { messages as messageRows } from "../../src/infra/db/schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser } from "../support/factories.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { batchingMessages, clientMsgId, lastSeqOf, postgresUrlOf, roomWith, seqsAfter } from "./message-batches.ts";
import { domainError, NOT_A_MEMBER } from "./trpc-calls.ts";

describe.each(databaseKinds)("group commit of messages.send on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  it("commits 200 concurrent sends in a handful of transactions, publishing each room's messages in seq order", async () => {
    const { messages, batches } = batchingMessages(deps);
    const rooms = await Promise.all([roomWith(deps, 10), roomWith(deps, 10)]);
    const events = await Promise.all(rooms.map(({ room }) => deps.recordEvents({ roomId: room.id })));
    const sends = rooms.flatMap(({ room, members }) =>
      members.flatMap((member) =>
        Array.from({ length: 10 }, (_, i) => messages.send(member.id, { roomId: room.id, clientMsgId: clientMsgId("b"), body: `#${i}` })),
      ),
    );
    await Promise.all(sends);
    expect(batches.reduce((sum, batch) => sum + batch.sends, 0)).toBe(200);
    expect(batches.every((batch) => batch.path === "batch")).toBe(true);
    expect(batches.length).toBeLessThanOrEqual(5);
    await settle();
    for (const recorded of events) expect(recorded.map((event) => ("seq" in event ? event.seq : null))).toEqual(seqsAfter(9, 100));
  });

  it("acknowledges a send only once its message is readable from another connection", async () => {
    const { messages } = batchingMessages(deps);
    const { room, members } = await roomWith(deps, 5);
    const readCommitted = await committedReader(deps);
    try {
      const seen = await Promise.all(
        members.flatMap((member) =>
          Array.from({ length: 20 }, () =>
            messages
              .send(member.id, { roomId: room.id, clientMsgId: clientMsgId("ack"), body: "durable" })
              .then((outcome) => readCommitted(outcome.message.id)),
          ),
        ),
      );
      expect(seen).toEqual(Array.from({ length: 100 }, () => true));
    } finally {
      await readCommitted.close();
    }
  });

  it("refuses sends at once with a retryable UNAVAILABLE past the queue bound, committing the ones it took", async () => {
    const { messages } = batchingMessages(deps, { maxQueued: 5 });
    const { room, members } = await roomWith(deps, 1);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => messages.send(members[0]!.id, { roomId: room.id, clientMsgId: clientMsgId("bound"), body: `${i}` })),
    );
    const refused = outcomes.filter((outcome) => outcome.status === "rejected");
    const committed = outcomes.filter((outcome) => outcome.status === "fulfilled");
    expect(refused.length).toBeGreaterThan(0);
    for (const outcome of refused) expect(outcome.reason).toMatchObject({ code: "UNAVAILABLE", retryAfterSeconds: 1 });
    expect(await lastSeqOf(deps, room.id)).toBe(committed.length);
  });

  it("numbers many rooms and one hot room without gaps, each sender's sends in the order they were made", async () => {
    const { messages } = batchingMessages(deps, { maxBatchSize: 64 });
    const quiet = await Promise.all(Array.from({ length: 10 }, () => roomWith(deps, 3)));
    const hot = await roomWith(deps, 10);
    const plan = [
      ...quiet.flatMap(({ room, members }) => members.map((member) => ({ room, member, count: 10 }))),
      ...hot.members.map((member) => ({ room: hot.room, member, count: 20 })),
    ];
    const bySender = await Promise.all(
      plan.map(({ room, member, count }) =>
        Promise.all(
          Array.from({ length: count }, (_, i) => messages.send(member.id, { roomId: room.id, clientMsgId: clientMsgId("g"), body: `${i}` })),
        ),
      ),
    );
    for (const outcomes of bySender) {
      const seqs = outcomes.map((outcome) => outcome.message.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    for (const { room, base } of [...quiet, hot]) {
      const total = room.id === hot.room.id ? 200 : 30;
      expect(await lastSeqOf(deps, room.id)).toBe(base + total);
      const stored = await deps.database.db.select({ seq: messageRows.seq }).from(messageRows).where(eq(messageRows.roomId, room.id));
      expect(stored.map((row) => row.seq).sort((a, b) => a - b)).toEqual(seqsAfter(base, total));
    }
  });

  it("answers retries within and across batches with the original, refusing a reused id with CONFLICT alone", async () => {
    const { messages, batches } = batchingMessages(deps);
    const { room, members } = await roomWith(deps, 2);
    const [alice, bob] = members as [(typeof members)[0], (typeof members)[0]];
    const [first, second, third] = [clientMsgId("r1"), clientMsgId("r2"), clientMsgId("r3")];
    const original = await messages.send(alice.id, { roomId: room.id, clientMsgId: first, body: "one" });
    const events = await deps.recordEvents({ roomId: room.id });
    batches.length = 0;
    const send = (userId: string, id: string, body: string): Promise<SendOutcome> =>
      messages.send(userId, { roomId: room.id, clientMsgId: id, body });
    const outcomes = await Promise.allSettled([
      send(alice.id, first, "one"), // retry of a message committed by an earlier batch
      send(alice.id, first, "changed"), // same id, different body
      send(bob.id, second, "two"),
      send(bob.id, second, "two"), // duplicate inside the batch
      send(alice.id, third, "three"),
      send(alice.id, third, "not three"),
      send(bob.id, first, "bob may reuse alice's id"),
    ]);
    expect(batches).toMatchObject([{ sends: 7, created: 3, transactions: 1, path: "batch" }]);
    const [retry, changed, two, twoAgain, three, notThree, bobs] = outcomes;
    expect(retry).toEqual({ status: "fulfilled", value: { created: false, message: original.message } });
    const conflict = { code: "CONFLICT", message: "clientMsgId was already used for a different message" };
    expect(changed).toMatchObject({ status: "rejected", reason: conflict });
    expect(notThree).toMatchObject({ status: "rejected", reason: conflict });
    expect(two).toMatchObject({ status: "fulfilled", value: { created: true, message: { seq: 3, body: "two" } } });
    expect(twoAgain).toEqual({ status: "fulfilled", value: { created: false, message: two.status === "fulfilled" && two.value.message } });
    expect(three).toMatchObject({ status: "fulfilled", value: { created: true, message: { seq: 4 } } });
    expect(bobs).toMatchObject({ status: "fulfilled", value: { created: true, message: { seq: 5 } } });
    await settle();
    // Bob's join took seq 1, the original seq 2.
    expect(events.map((event) => ("seq" in event ? event.seq : null))).toEqual([3, 4, 5]);
  });

  it("refuses a non-member's send and a send to a missing room inside a batch while the others commit", async () => {
    const { messages, batches } = batchingMessages(deps);
    const { room, members } = await roomWith(deps, 3);
    const outsider = await createUser(deps.database);
    const input = (roomId: string) => ({ roomId, clientMsgId: clientMsgId("m"), body: "hello" });
    const [a, b, refused, missing, c] = await Promise.allSettled([
      messages.send(members[0]!.id, input(room.id)),
      messages.send(members[1]!.id, input(room.id)),
      messages.send(outsider.id, input(room.id)),
      messages.send(members[0]!.id, input(crypto.randomUUID())),
      messages.send(members[2]!.id, input(room.id)),
    ]);
    expect(batches).toMatchObject([{ sends: 5, created: 3, transactions: 1, path: "batch" }]);
    expect([a, b, c].map((outcome) => outcome.status === "fulfilled" && outcome.value.message.seq)).toEqual([3, 4, 5]);
    expect(refused).toMatchObject({ status: "rejected", reason: NOT_A_MEMBER });
    expect(missing).toMatchObject({ status: "rejected", reason: NOT_A_MEMBER });
    expect(await lastSeqOf(deps, room.id)).toBe(5);
  });

  it("stores every body of a batch exactly as sent, whatever quotes, braces or backslashes it holds", async () => {
    const { messages } = batchingMessages(deps);
    const { room, members } = await roomWith(deps, 1);
    const bodies = ['"quoted"', "back\\slash \\\"", "{a,b}", "NULL", "null", "comma, then\nnewline\ttab", "'single'", "👨‍👩‍👧‍👦 مرحبا", "{}", "\\"];
    const outcomes = await Promise.all(
      bodies.map((body) => messages.send(members[0]!.id, { roomId: room.id, clientMsgId: clientMsgId("q"), body })),
    );
    expect(outcomes.map((outcome) => outcome.message.body)).toEqual(bodies);
    const stored = await deps.database.db.select({ body: messageRows.body, seq: messageRows.seq }).from(messageRows).where(eq(messageRows.roomId, room.id));
    expect(stored.sort((a, b) => a.seq - b.seq).map((row) => row.body)).toEqual(bodies);
  });

  it("refuses a send from a member kicked before it was committed", async () => {
    const { messages } = batchingMessages(deps);
    const { room, members } = await roomWith(deps, 2);
    const [owner, bob] = members as [(typeof members)[0], (typeof members)[0]];
    await deps.services.rooms.kick(owner.id, { roomId: room.id, userId: bob.id });
    const send = messages.send(bob.id, { roomId: room.id, clientMsgId: clientMsgId("k"), body: "still here?" });
    expect(await domainError(send)).toMatchObject(NOT_A_MEMBER);
    expect(await lastSeqOf(deps, room.id)).toBe(2); // bob's join and his removal, no message
  });
});

/**
 * Reads a message by id on a connection of its own, so it sees only committed rows. PGlite has one connection,
 * which holds the read until the transaction finished: there the check is weaker, only Postgres can catch an early ack.
 */
async function committedReader(deps: TestDeps): Promise<((id: string) => Promise<boolean>) & { close(): Promise<void> }> {
  if (deps.database.kind === "pglite") {
    const read = async (id: string): Promise<boolean> =>
      (await deps.database.db.select({ id: messageRows.id }).from(messageRows).where(eq(messageRows.id, id))).length === 1;
    return Object.assign(read, { close: async () => {} });
  }
  const { url } = await postgresUrlOf(deps.database);
  const other = postgres(url, { max: 1, onnotice: () => {} });
  const read = async (id: string): Promise<boolean> => (await other`select 1 from messages where id = ${id}`).length === 1;
  return Object.assign(read, { close: () => other.end({ timeout: 5 }) });
}
