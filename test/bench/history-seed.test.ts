import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SeededHistory, seedHistory } from "../../bench/lib/history-seed.ts";
import { RARE_WORD } from "../../bench/lib/history-vocabulary.ts";
import type { LoggedRoomEvent } from "../../src/domain/events.ts";
import type { Message } from "../../src/domain/messages/messages.schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { callerFor } from "../domain/trpc-calls.ts";

/**
 * The benchmark's room history (bench/lib/history-seed.ts) is written with SQL, not through the services: these
 * specs read it back through the real procedures and write on top of it, so the figures measured on it are figures
 * of a history the write path could have made.
 */
describe.each(databaseKinds)("the benchmark's seeded room history on %s", (kind) => {
  let deps: TestDeps;
  let seeded: SeededHistory;
  const big = (): { id: string; lastSeq: number } => seeded.rooms[0] as { id: string; lastSeq: number };

  beforeAll(async () => {
    deps = await createTestDeps(kind);
    seeded = await seedHistory(
      deps.database,
      { events: 3000, readerRooms: 5, bigRoomShare: 0.5, bigRoomMembers: 20, otherEvents: 600, otherRooms: 3, users: 50 },
      () => {},
    );
  }, 120_000);
  afterAll(async () => {
    await deps?.close();
  });

  /** Every message of the big room's main timeline, paged back from the newest with `before`. */
  async function wholeTimeline(): Promise<Message[]> {
    const api = callerFor(deps.services, seeded.reader.userId);
    let page = await api.messages.list({ roomId: big().id, limit: 100 });
    const all = [...page.messages];
    while (page.hasOlder) {
      page = await api.messages.list({ roomId: big().id, before: all[0]?.seq ?? 0, limit: 100 });
      all.unshift(...page.messages);
    }
    return all;
  }

  it("replays each of the reader's rooms as one gapless log, 1…lastSeq, of the seeded event types", async () => {
    const api = callerFor(deps.services, seeded.reader.userId);
    const seen = new Map<string, number>();
    for (const room of seeded.rooms) {
      const events: LoggedRoomEvent[] = [];
      let page = await api.rooms.events({ roomId: room.id, after: 0, limit: 500 });
      events.push(...page.events);
      while (page.hasMore) {
        page = await api.rooms.events({ roomId: room.id, after: events.at(-1)?.seq ?? 0, limit: 500 });
        events.push(...page.events);
      }
      expect(events.map((event) => event.seq)).toEqual(Array.from({ length: room.lastSeq }, (_, index) => index + 1));
      expect(page.lastSeq).toBe(room.lastSeq);
      for (const event of events) seen.set(event.type, (seen.get(event.type) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(["member.joined", "message.created", "message.deleted", "message.edited", "reaction.added"]);
  });

  it("pages the big room's main timeline in seq order, with tombstones, edits, reactions, quotes and thread roots", async () => {
    const timeline = await wholeTimeline();
    const seqs = timeline.map((message) => message.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(timeline.every((message) => message.threadRootId === null)).toBe(true);
    const deleted = timeline.filter((message) => message.deletedAt !== null);
    expect(deleted.length).toBeGreaterThan(0);
    expect(deleted.every((message) => message.body === "" && message.reactions.length === 0 && message.deletedBy === "sender")).toBe(true);
    expect(timeline.some((message) => message.editedAt !== null)).toBe(true);
    expect(timeline.some((message) => message.reactions.length > 0)).toBe(true);
    expect(timeline.some((message) => message.replyTo !== null)).toBe(true);
    expect(timeline.some((message) => message.thread !== null)).toBe(true);
  });

  it("reads threads, reactors and earlier versions back as the projections on each message say", async () => {
    const timeline = await wholeTimeline();
    const reader = callerFor(deps.services, seeded.reader.userId);
    const root = timeline.find((message) => message.thread !== null) as Message;
    const thread = await reader.messages.thread({ rootId: root.id, limit: 100 });
    expect(thread.replies.length).toBe(root.thread?.replyCount);
    expect(thread.replies.every((reply) => reply.threadRootId === root.id && reply.seq > root.seq)).toBe(true);
    const reacted = timeline.find((message) => message.reactions.length > 0) as Message;
    for (const { emoji, count } of reacted.reactions) {
      expect((await reader.messages.reactors({ messageId: reacted.id, emoji })).items).toHaveLength(count);
    }
    const edited = timeline.find((message) => message.editedAt !== null) as Message;
    const versions = await callerFor(deps.services, edited.sender.id).messages.edits({ messageId: edited.id });
    expect(versions.versions.length).toBeGreaterThan(0);
  });

  it("finds the planted rare word only in the reader's rooms, never in deleted messages", async () => {
    const page = await callerFor(deps.services, seeded.reader.userId).messages.search({ query: RARE_WORD, limit: 50 });
    expect(page.hits.length).toBe(seeded.visible.rare);
    const rooms = new Set(seeded.rooms.map((room) => room.id));
    expect(page.hits.every((hit) => rooms.has(hit.message.roomId) && hit.message.body.includes(RARE_WORD))).toBe(true);
  });

  it("goes on from where it ends on the write path: the next send takes the room's next seq, edits and reactions too", async () => {
    const reader = callerFor(deps.services, seeded.reader.userId);
    const sent = await reader.messages.send({ roomId: big().id, clientMsgId: "after-the-seed-1", body: `one more ${RARE_WORD}` });
    expect(sent.seq).toBe(big().lastSeq + 1);
    const newest = await reader.messages.list({ roomId: big().id, limit: 1 });
    expect(newest.messages.map((message) => message.id)).toEqual([sent.id]);
    const reacted = await reader.messages.react({ messageId: sent.id, emoji: "👍" });
    expect(reacted.reactions).toEqual([{ emoji: "👍", count: 1, me: true }]);
    const edited = await reader.messages.edit({ messageId: sent.id, body: "one more, edited" });
    expect(edited.editedAt).not.toBeNull();
    const { events } = await reader.rooms.events({ roomId: big().id, after: big().lastSeq, limit: 10 });
    expect(events.map((event) => `${event.seq} ${event.type}`)).toEqual([
      `${big().lastSeq + 1} message.created`,
      `${big().lastSeq + 2} reaction.added`,
      `${big().lastSeq + 3} message.edited`,
    ]);
  });
});
