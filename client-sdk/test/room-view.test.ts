import { describe, expect, it } from "vitest";
import type { LoggedRoomEvent, MessagePage, UserPublic } from "../../src/contract.ts";
import { excerptOf as serverExcerptOf } from "../../src/domain/messages/message-rows.ts";
import { excerptOf } from "../src/realtime/message-changes.ts";
import { ACTIVITY_LIMIT, createRoomView, type RoomView } from "../src/realtime/room-view.ts";
import { randomScript, type ScriptedRoom, scriptedRoom } from "./support/scripted-room.ts";

/**
 * The room view, pure: fed pages and events of a scripted room (support/scripted-room.ts), which also answers
 * messages.list and messages.thread for a reader as the contract says. A view converges when its timeline equals
 * a fresh messages.list of the same range — bodies, edits, tombstones, reactions with the reader's own `me`,
 * pins, thread summaries and quotes.
 */

const ME: UserPublic = { id: crypto.randomUUID(), username: "me", displayName: "Me" };
const ANN: UserPublic = { id: crypto.randomUUID(), username: "ann", displayName: "Ann" };
const BOB: UserPublic = { id: crypto.randomUUID(), username: "bob", displayName: "Bob" };

const idOf = (event: LoggedRoomEvent): string => {
  if (event.type !== "message.created") throw new Error(`${event.type} is not a creation`);
  return event.message.id;
};
const applyAll = (view: RoomView, events: readonly LoggedRoomEvent[]): string[] => events.map((event) => view.apply(event));
const viewOf = (room: ScriptedRoom, reader: UserPublic = ME, page: MessagePage = room.list(reader)): RoomView =>
  createRoomView({ roomId: room.roomId, userId: reader.id, page });

describe("room view: messages", () => {
  it("shows edits, and tombstones in place of deleted messages, as messages.list does", () => {
    const room = scriptedRoom();
    const first = idOf(room.send(ANN, "hello"));
    const view = viewOf(room);
    const events = [room.send(BOB, "hi ann"), room.edit(first, "hello, everyone"), room.send(ANN, "oops")];
    events.push(room.delete(idOf(events[2]!)));

    expect(applyAll(view, events)).toEqual(["applied", "applied", "applied", "applied"]);

    expect(view.messages()).toEqual(room.list(ME).messages);
    expect(view.message(first)).toMatchObject({ body: "hello, everyone", editedAt: expect.any(String) });
    expect(view.messages().at(-1)).toMatchObject({ body: "", deletedAt: expect.any(String), deletedBy: "sender" });
    expect(view.position).toBe(room.lastSeq);
  });

  it("keeps a reply's quote on its target as the target is edited (cut at 140 characters) and deleted", () => {
    const room = scriptedRoom();
    const target = idOf(room.send(ANN, "short"));
    const view = viewOf(room);
    const answer = room.send(BOB, "answer", { replyTo: target });
    view.apply(answer);
    const reply = idOf(answer);
    const long = "ä".repeat(100) + "🙂".repeat(60);

    view.apply(room.edit(target, long));
    expect(view.message(reply)?.replyTo).toEqual({ messageId: target, sender: ANN, excerpt: `${[...long].slice(0, 140).join("")}…`, deleted: false });
    expect(view.messages()).toEqual(room.list(ME).messages);

    view.apply(room.delete(target, "moderator"));
    expect(view.message(reply)?.replyTo).toEqual({ messageId: target, sender: ANN, excerpt: "", deleted: true });
    expect(view.messages()).toEqual(room.list(ME).messages);
  });

  it("keeps `me` on reactions from the page, sets it from my own reaction events, and never takes the `false` of pushed events", () => {
    const room = scriptedRoom();
    const message = idOf(room.send(ANN, "react to me"));
    room.react(message, ME, "👍");
    const view = viewOf(room);
    expect(view.message(message)?.reactions).toEqual([{ emoji: "👍", count: 1, me: true }]);

    view.apply(room.react(message, ANN, "👍")); // count 2, pushed with me: false
    view.apply(room.edit(message, "edited")); // the whole message again, every me false
    expect(view.message(message)?.reactions).toEqual([{ emoji: "👍", count: 2, me: true }]);

    view.apply(room.react(message, BOB, "❤️"));
    view.apply(room.react(message, ME, "❤️"));
    view.apply(room.unreact(message, ME, "👍"));
    expect(view.message(message)?.reactions).toEqual([
      { emoji: "👍", count: 1, me: false },
      { emoji: "❤️", count: 2, me: true },
    ]);

    view.apply(room.unreact(message, ANN, "👍")); // count 0: the entry goes
    expect(view.message(message)?.reactions).toEqual([{ emoji: "❤️", count: 2, me: true }]);
    expect(view.messages()).toEqual(room.list(ME).messages);
  });

  it("gives every reader their own `me` from the same events", () => {
    const room = scriptedRoom();
    const message = idOf(room.send(BOB, "one"));
    const readers = [ME, ANN, BOB].map((reader) => ({ reader, view: viewOf(room, reader) }));
    const events = [room.react(message, ME, "🎉"), room.react(message, ANN, "🎉"), room.react(message, ANN, "👀"), room.unreact(message, ME, "🎉")];

    for (const { reader, view } of readers) {
      applyAll(view, events);
      expect(view.messages(), reader.username).toEqual(room.list(reader).messages);
    }
  });

  it("pins and unpins", () => {
    const room = scriptedRoom();
    const message = idOf(room.send(ANN, "the rules"));
    const view = viewOf(room);

    view.apply(room.pin(message, BOB));
    expect(view.message(message)?.pinned).toEqual({ at: expect.any(String), byUserId: BOB.id });
    view.apply(room.unpin(message, BOB));
    expect(view.message(message)?.pinned).toBeNull();
    view.apply(room.pin(message, ANN));
    expect(view.messages()).toEqual(room.list(ME).messages);
  });

  it("ignores an event it already has, whether applied once before or reflected by its page, and keeps the same array", () => {
    const room = scriptedRoom();
    const message = idOf(room.send(ANN, "a"));
    const before = room.react(message, ANN, "👍"); // in the page
    const view = viewOf(room);
    const after = [room.edit(message, "b"), room.react(message, ME, "👍")];
    applyAll(view, after);
    const shown = view.messages();

    expect(applyAll(view, [before, ...after, ...room.replay(0)])).toEqual(Array(1 + after.length + room.lastSeq).fill("duplicate"));

    expect(view.messages()).toBe(shown);
    expect(view.messages()).toEqual(room.list(ME).messages);
  });
});

describe("room view: threads", () => {
  it("keeps thread-only replies off the timeline, gives the root its summary, and shows alsoInRoom replies on both", () => {
    const room = scriptedRoom();
    const root = idOf(room.send(ANN, "a question"));
    const view = viewOf(room);
    const replies = [room.send(BOB, "in the thread", { threadRootId: root }), room.send(ME, "me too", { threadRootId: root, alsoInRoom: true })];
    applyAll(view, replies);

    expect(view.messages().map((message) => message.body)).toEqual(["a question", "me too"]);
    expect(view.message(root)?.thread).toEqual({ replyCount: 2, lastReplyAt: expect.any(String), participants: [BOB, ME] });
    expect(view.thread(root)).toEqual(room.thread(ME, root).replies);
    expect(view.messages()).toEqual(room.list(ME).messages);

    view.apply(room.delete(idOf(replies[0]!)));
    expect(view.message(root)?.thread).toMatchObject({ replyCount: 1 });
    expect(view.thread(root)).toEqual(room.thread(ME, root).replies);
    expect(view.messages()).toEqual(room.list(ME).messages);
  });

  it("takes a thread page asked for earlier, with the events since then applied to it", () => {
    const room = scriptedRoom();
    const root = idOf(room.send(ANN, "root"));
    const early = idOf(room.send(BOB, "early reply", { threadRootId: root }));
    const view = viewOf(room);
    const asked = view.position!;
    const page = room.thread(ME, root); // read now, answered after the events below
    applyAll(view, [room.edit(early, "early reply, edited"), room.react(early, ME, "👍"), room.send(ANN, "late reply", { threadRootId: root })]);

    expect(view.loadThread(page, asked)).toBe("loaded");

    expect(view.thread(root)).toEqual(room.thread(ME, root).replies);
    expect(view.message(root)).toEqual(room.thread(ME, root).root);
  });
});

describe("room view: convergence", () => {
  it.each([1, 2, 3, 4, 5])("script %i: seeded at any position, given live events to any later one, then a replay from there, it equals a fresh messages.list", (seed) => {
    const { room, live, pages } = randomScript({ seed, steps: 40, reader: ME });
    const fresh = room.list(ME).messages;
    for (let seededAt = 0; seededAt <= live.length; seededAt += 1) {
      for (let disconnectedAt = seededAt; disconnectedAt <= live.length; disconnectedAt += 1) {
        const view = createRoomView({ roomId: room.roomId, userId: ME.id, page: pages[seededAt]! });
        applyAll(view, live.slice(seededAt, disconnectedAt));
        // The resume replays from the view's position, each event built from the room as it is now.
        const outcomes = applyAll(view, room.replay(disconnectedAt));
        expect(outcomes.every((outcome) => outcome === "applied"), `seeded at ${seededAt}, replayed from ${disconnectedAt}`).toBe(true);
        expect(view.messages(), `seeded at ${seededAt}, replayed from ${disconnectedAt}`).toEqual(fresh);
      }
    }
  });

  it.each([6, 7])("script %i: a replay from older than the view's position, repeated, changes nothing", (seed) => {
    const { room, live, pages } = randomScript({ seed, steps: 40, reader: ME });
    const view = createRoomView({ roomId: room.roomId, userId: ME.id, page: pages[10]! });
    applyAll(view, live.slice(10));
    applyAll(view, [...room.replay(5), ...room.replay(0), ...live]);
    expect(view.messages()).toEqual(room.list(ME).messages);
  });

  it("holds events that arrive before its page, and applies the ones after the page when it comes", () => {
    const { room, live, pages } = randomScript({ seed: 8, steps: 30, reader: ME });
    const view = createRoomView({ roomId: room.roomId, userId: ME.id });
    expect(view.state).toBe("empty");
    expect(applyAll(view, live.slice(12))).toEqual(Array(live.length - 12).fill("held"));

    expect(view.load(pages[20]!)).toBe("loaded"); // the page was read after the 20th event, answered after the 30th

    expect(view.state).toBe("live");
    expect(view.position).toBe(30);
    expect(view.messages()).toEqual(room.list(ME).messages);
  });

  it("goes stale at a gap, keeps what it showed, and starts over from the next newest page", () => {
    const { room, live, pages } = randomScript({ seed: 9, steps: 30, reader: ME });
    const view = createRoomView({ roomId: room.roomId, userId: ME.id, page: pages[10]! });
    applyAll(view, live.slice(10, 15));
    const shown = view.messages();

    expect(view.apply(live[16]!)).toBe("gap"); // seq 17: 16 never came
    expect(view.state).toBe("stale");
    expect(applyAll(view, live.slice(17, 25))).toEqual(Array(8).fill("held"));
    expect(view.messages()).toBe(shown);

    expect(view.load(pages[22]!)).toBe("loaded");
    applyAll(view, live.slice(25));
    expect(view.messages()).toEqual(room.list(ME).messages);
  });

  it("after a reset (another epoch) forgets its position and the events it kept: the next page starts it over", () => {
    const { room, live, pages } = randomScript({ seed: 10, steps: 20, reader: ME });
    const view = createRoomView({ roomId: room.roomId, userId: ME.id, page: pages[20]! });
    view.invalidate("reset");
    expect([view.state, view.position]).toEqual(["stale", null]);

    const restored = scriptedRoom(room.roomId); // the database came back from a backup: seqs start over
    const event = restored.send(ANN, "after the restore");
    expect(view.apply(event)).toBe("held");
    expect(view.load(restored.list(ME))).toBe("loaded");
    expect(view.messages()).toEqual(restored.list(ME).messages);
    expect(live.length).toBe(20);
  });

  it("pages back: an older page read before later events gets them applied, and extends the timeline to the room's start", () => {
    const room = scriptedRoom();
    const ids = Array.from({ length: 6 }, (_, n) => idOf(room.send(ANN, `#${n}`)));
    const view = viewOf(room, ME, room.list(ME, { limit: 3 }));
    expect([view.hasOlder, view.pageBefore]).toEqual([true, 4]);
    const older = room.list(ME, { before: view.pageBefore!, limit: 3 }); // read now, answered after these:
    applyAll(view, [room.edit(ids[0]!, "#0, edited"), room.react(ids[1]!, ME, "👍"), room.send(BOB, "quoting #2", { replyTo: ids[2] }), room.delete(ids[2]!)]);

    expect(view.load(older)).toBe("loaded");

    expect([view.hasOlder, view.pageBefore]).toEqual([false, null]);
    expect(view.messages()).toEqual(room.list(ME).messages);
  });

  it("refuses an older page read before the oldest event it still keeps: it must be fetched again", () => {
    const room = scriptedRoom();
    Array.from({ length: 4 }, (_, n) => room.send(ANN, `#${n}`));
    const view = viewOf(room, ME, room.list(ME, { limit: 2 }));
    const older = room.list(ME, { before: view.pageBefore!, limit: 2 });
    for (let n = 0; n < 2600; n += 1) view.apply(room.join({ id: crypto.randomUUID(), username: `u${n}`, displayName: "U" }));

    expect(view.load(older)).toBe("stale");
    expect(view.load(room.list(ME, { before: view.pageBefore!, limit: 2 }))).toBe("loaded");
    expect(view.messages()).toEqual(room.list(ME).messages);
  });
});

describe("room view: quotes", () => {
  it("cuts an excerpt exactly as the server does", () => {
    const bodies = ["", "short", "a".repeat(140), "a".repeat(141), "🙂".repeat(139) + "ab", "e\u0301".repeat(80), "👨‍👩‍👧‍👦".repeat(30)];
    for (const body of bodies) expect(excerptOf(body)).toBe(serverExcerptOf(body));
  });
});

describe("room view: activity", () => {
  /** An activity event at the view's next seq (the scripted room speaks only messages and joins). */
  function next(view: RoomView, event: Record<string, unknown>): LoggedRoomEvent {
    return { roomId: view.roomId, seq: (view.position ?? 0) + 1, ...event } as LoggedRoomEvent;
  }

  it("keeps joins, role changes, removals and room changes as activity, and what they say of roles and the room", () => {
    const room = scriptedRoom();
    room.send(ANN, "hello");
    const view = viewOf(room);
    view.apply(room.join(BOB));
    view.apply(next(view, { type: "member.role", userId: BOB.id, role: "moderator", byUserId: ANN.id }));
    view.apply(next(view, { type: "member.left", userId: ANN.id, reason: "left" }));
    const renamed = { id: view.roomId, kind: "public", name: "renamed", description: "", createdAt: "", lastSeq: 0, epoch: 1 };
    view.apply(next(view, { type: "room.updated", room: renamed }));

    expect(view.activity().map((event) => event.type)).toEqual(["member.joined", "member.role", "member.left", "room.updated"]);
    expect(view.roles()).toEqual(new Map([[BOB.id, "moderator"], [ANN.id, null]]));
    expect(view.room()).toEqual(renamed);
    expect(view.messages().map((message) => message.body)).toEqual(["hello"]); // activity is not on the timeline
  });

  it("keeps bans and mutes as activity, and what mutes say of each member: until when, or lifted", () => {
    const room = scriptedRoom();
    const view = viewOf(room);
    view.apply(next(view, { type: "member.muted", userId: BOB.id, until: "2030-01-01T00:00:00.000Z", byUserId: ANN.id }));
    view.apply(next(view, { type: "member.muted", userId: ME.id, until: null, byUserId: ANN.id }));
    view.apply(next(view, { type: "member.unmuted", userId: BOB.id, byUserId: ANN.id }));
    view.apply(next(view, { type: "member.left", userId: BOB.id, reason: "banned" }));
    expect(view.activity().map((event) => event.type)).toEqual(["member.muted", "member.muted", "member.unmuted", "member.left"]);
    expect(view.mutes()).toEqual(new Map([[BOB.id, null], [ME.id, { until: null }]]));
    expect(view.roles()).toEqual(new Map([[BOB.id, null]]));
    // Starting over forgets them, as it does roles.
    view.invalidate("reset");
    expect(view.load(room.list(ME))).toBe("loaded");
    expect(view.mutes().size).toBe(0);
  });

  it("keeps the same arrays until an activity event comes, and at most the latest ACTIVITY_LIMIT events", () => {
    const room = scriptedRoom();
    const view = viewOf(room);
    const [activity, roles] = [view.activity(), view.roles()];
    view.apply(next(view, { type: "member.left", userId: BOB.id, reason: "removed" }));
    expect(view.activity()).not.toBe(activity);
    expect(view.roles()).not.toBe(roles);
    const before = view.activity();
    expect(view.activity()).toBe(before);

    for (let n = 0; n < ACTIVITY_LIMIT + 10; n += 1) view.apply(next(view, { type: "member.role", userId: BOB.id, role: "member", byUserId: ANN.id }));
    expect(view.activity()).toHaveLength(ACTIVITY_LIMIT);
    expect(view.activity().at(-1)?.seq).toBe(view.position);
  });

  it("forgets what events said of roles and the room when it starts over from a page after a gap (events were missed)", () => {
    const room = scriptedRoom();
    const view = viewOf(room);
    view.apply(next(view, { type: "member.role", userId: BOB.id, role: "admin", byUserId: ANN.id }));
    const gapped = { ...next(view, { type: "member.role", userId: ANN.id, role: "admin", byUserId: BOB.id }), seq: (view.position ?? 0) + 5 } as LoggedRoomEvent;
    expect(view.apply(gapped)).toBe("gap");
    view.invalidate("reset"); // as after a resume that could not recover: its position and kept events go
    expect(view.load(room.list(ME))).toBe("loaded");
    expect(view.roles().size).toBe(0);
    expect(view.room()).toBeNull();
    expect(view.activity().map((event) => event.type)).toEqual(["member.role"]); // system lines already shown stay
  });
});
