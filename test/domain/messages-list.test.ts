import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message, MessagePage } from "../../src/domain/messages/messages.schema.ts";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser } from "../support/factories.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { token } from "./room-fixtures.ts";
import { callerFor, inputIssues } from "./trpc-calls.ts";

/** A page as seqs plus its flags, so expectations read like the pagination they describe. */
function shape(page: MessagePage): { seqs: number[]; hasOlder: boolean; hasNewer: boolean } {
  return { seqs: page.messages.map((message) => message.seq), hasOlder: page.hasOlder, hasNewer: page.hasNewer };
}

const seqs = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe.each(databaseKinds)("messages.list on %s", (kind) => {
  let deps: TestDeps;
  let alice: UserPublic;
  let room: Room;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
    // One room of 25 messages, read (never written) by every test below.
    alice = await createUser(deps.database);
    room = await deps.services.rooms.create(alice.id, { name: token(), kind: "private" });
    for (let i = 1; i <= 25; i++) {
      await deps.services.messages.send(alice.id, { roomId: room.id, clientMsgId: `list-${i}-${token()}`, body: `message ${i}` });
    }
  });
  afterAll(async () => {
    await deps?.close();
  });

  const list = async (input: { before?: number; after?: number; around?: number; limit?: number }): Promise<ReturnType<typeof shape>> =>
    shape(await callerFor(deps.services, alice.id).messages.list({ roomId: room.id, ...input }));

  it("returns the newest page by default, ascending", async () => {
    expect(await list({ limit: 10 })).toEqual({ seqs: seqs(16, 25), hasOlder: true, hasNewer: false });
    expect(await list({})).toEqual({ seqs: seqs(1, 25), hasOlder: false, hasNewer: false });
  });

  it("pages backwards with before", async () => {
    expect(await list({ before: 16, limit: 10 })).toEqual({ seqs: seqs(6, 15), hasOlder: true, hasNewer: true });
    expect(await list({ before: 6, limit: 10 })).toEqual({ seqs: seqs(1, 5), hasOlder: false, hasNewer: true });
    expect(await list({ before: 1, limit: 10 })).toEqual({ seqs: [], hasOlder: false, hasNewer: true });
    expect(await list({ before: 26, limit: 1 })).toEqual({ seqs: [25], hasOlder: true, hasNewer: false });
  });

  it("pages forwards with after", async () => {
    expect(await list({ after: 0, limit: 10 })).toEqual({ seqs: seqs(1, 10), hasOlder: false, hasNewer: true });
    expect(await list({ after: 10, limit: 10 })).toEqual({ seqs: seqs(11, 20), hasOlder: true, hasNewer: true });
    expect(await list({ after: 20, limit: 10 })).toEqual({ seqs: seqs(21, 25), hasOlder: true, hasNewer: false });
    expect(await list({ after: 25, limit: 10 })).toEqual({ seqs: [], hasOlder: true, hasNewer: false });
  });

  it("centres a page on a seq with around", async () => {
    expect(await list({ around: 13, limit: 5 })).toEqual({ seqs: seqs(11, 15), hasOlder: true, hasNewer: true });
    expect(await list({ around: 13, limit: 4 })).toEqual({ seqs: seqs(11, 14), hasOlder: true, hasNewer: true });
    expect(await list({ around: 1, limit: 5 })).toEqual({ seqs: seqs(1, 3), hasOlder: false, hasNewer: true });
    expect(await list({ around: 25, limit: 4 })).toEqual({ seqs: seqs(23, 25), hasOlder: true, hasNewer: false });
    expect(await list({ around: 25, limit: 1 })).toEqual({ seqs: [25], hasOlder: true, hasNewer: false });
  });

  it("walks the whole history in both directions without repeats or holes", async () => {
    const backwards: number[] = [];
    let page = await list({ limit: 7 });
    backwards.unshift(...page.seqs);
    while (page.hasOlder) {
      page = await list({ before: backwards[0]!, limit: 7 });
      backwards.unshift(...page.seqs);
    }
    expect(backwards).toEqual(seqs(1, 25));
    const forwards: number[] = [];
    page = await list({ after: 0, limit: 7 });
    forwards.push(...page.seqs);
    while (page.hasNewer) {
      page = await list({ after: forwards.at(-1)!, limit: 7 });
      forwards.push(...page.seqs);
    }
    expect(forwards).toEqual(seqs(1, 25));
  });

  it("serves the log's range and position for resume and gap filling, from the cache and from Postgres alike", async () => {
    const log = deps.services.roomLog;
    for (const source of ["cache", "postgres"]) {
      if (source === "postgres") await deps.recentEvents.forget(room.id);
      const range = (await log.range(room.id, 10, 14, 100)).map((frame) => JSON.parse(frame.frame) as { seq: number; message: Message });
      expect(range.map((event) => event.seq)).toEqual(seqs(11, 14));
      expect(range[0]?.message).toMatchObject({ roomId: room.id, sender: alice, body: "message 11" });
      expect((await log.range(room.id, 0, 25, 3)).map((frame) => frame.seq)).toEqual([1, 2, 3]);
      expect(await log.range(room.id, 25, 30, 10)).toEqual([]);
    }
    expect(await log.position(room.id)).toEqual({ lastSeq: 25, epoch: room.epoch });
    expect(await log.position(crypto.randomUUID())).toBeNull();
  });

  it("refuses limits outside 1–100, two cursors at once, negative or fractional seqs and unknown fields", async () => {
    const caller = callerFor(deps.services, alice.id);
    const roomId = room.id;
    expect(await inputIssues(caller.messages.list({ roomId, before: 5, after: 1 }))).toEqual([
      "use at most one of before, after, around",
    ]);
    expect(await inputIssues(caller.messages.list({ roomId, around: 5, after: 1 }))).toEqual([
      "use at most one of before, after, around",
    ]);
    for (const input of [
      { roomId, limit: 101 },
      { roomId, limit: 0 },
      { roomId, before: -1 },
      { roomId, after: 1.5 },
      { roomId, offset: 10 },
      { roomId: "room-1" },
    ]) {
      expect(await inputIssues(caller.messages.list(input as never)), JSON.stringify(input)).not.toEqual([]);
    }
    expect(await list({ limit: 100 })).toMatchObject({ seqs: seqs(1, 25) });
  });
});
