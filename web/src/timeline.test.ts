import type { LoggedRoomEvent, Message, MessagePage } from "@parley/client";
import { describe, expect, it } from "vitest";
import {
  highlightParts, insertMention, linesInView, linkify, mentionAt, mergePages, nextNewerCursor, nextOlderCursor, roomTitle, seenByText, stillPending, systemLineOf, withDateSeparators,
} from "./timeline.ts";

const message = (seq: number, fields: Partial<Message> = {}): Message =>
  ({ id: `m${seq}`, seq, roomId: "r", body: `body ${seq}`, createdAt: "2026-11-30T12:00:00.000Z", sender: { id: "u", username: "ann", displayName: "" }, ...fields }) as Message;
const page = (seqs: number[], hasOlder: boolean, fields: Partial<MessagePage> = {}): MessagePage => ({
  messages: seqs.map((seq) => message(seq)),
  hasOlder,
  hasNewer: false,
  lastSeq: seqs.at(-1) ?? 0,
  ...fields,
});

describe("the timeline from the newest page and the older pages loaded above it", () => {
  it("is ascending by seq, each message once, the newest page's copy winning where pages overlap", () => {
    const newest = page([5, 6, 7], true);
    newest.messages[0] = message(5, { body: "edited live" });
    const merged = mergePages(newest, [page([3, 4, 5], true), page([1, 2], false)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(merged.find((m) => m.seq === 5)?.body).toBe("edited live");
  });

  it("leaves out pages still loading", () => {
    expect(mergePages(page([3], true), [undefined]).map((m) => m.seq)).toEqual([3]);
    expect(mergePages(undefined, [])).toEqual([]);
  });

  it("asks for older messages before the oldest page's first seq, until a page says there are none", () => {
    expect(nextOlderCursor(page([5, 6], true), [])).toBe(5);
    expect(nextOlderCursor(page([5, 6], true), [page([3, 4], true)])).toBe(3);
    expect(nextOlderCursor(page([5, 6], true), [page([3, 4], false)])).toBeNull();
    expect(nextOlderCursor(page([1], false), [])).toBeNull();
    expect(nextOlderCursor(undefined, [])).toBeNull();
  });
});

describe("date separators", () => {
  it("go before the first message of each day, in the viewer's time zone", () => {
    const noon = (day: number): string => new Date(2026, 10, day, 12).toISOString();
    const items = withDateSeparators([message(1, { createdAt: noon(1) }), message(2, { createdAt: noon(1) }), message(3, { createdAt: noon(2) })], "en-GB");
    expect(items.map((item) => item.kind)).toEqual(["date", "message", "message", "date", "message"]);
    expect(items[0]?.kind === "date" && items[0].label).toMatch(/Sunday.*1 November 2026/);
  });
});

describe("links in a message body", () => {
  it("makes http and https links clickable, leaving trailing punctuation as text", () => {
    expect(linkify("see https://example.com/docs. or http://a.test/x?y=1)")).toEqual([
      { kind: "text", text: "see " },
      { kind: "link", text: "https://example.com/docs", href: "https://example.com/docs" },
      { kind: "text", text: ". or " },
      { kind: "link", text: "http://a.test/x?y=1", href: "http://a.test/x?y=1" },
      { kind: "text", text: ")" },
    ]);
  });

  it("never links another scheme, and keeps markup as text", () => {
    expect(linkify("javascript:alert(1) <b>hi</b> data:text/html,x")).toEqual([{ kind: "text", text: "javascript:alert(1) <b>hi</b> data:text/html,x" }]);
    expect(linkify("")).toEqual([]);
  });
});

describe("room titles", () => {
  it("name a DM by the other person, a room by its name, an unnamed group as the SDK does", () => {
    expect(roomTitle({ kind: "direct", name: "", peer: { id: "b", username: "ben", displayName: "Ben B" } })).toBe("Ben B");
    expect(roomTitle({ kind: "direct", name: "", peer: { id: "b", username: "ben", displayName: "" } })).toBe("ben");
    expect(roomTitle({ kind: "public", name: "lobby", peer: null })).toBe("lobby");
    expect(roomTitle({ kind: "group", name: "", peer: null })).toBe("Empty group");
  });
});

describe("pending messages", () => {
  it("show until the server's copy is on the timeline, and only in their room", () => {
    const pending = [
      { clientMsgId: "a", roomId: "r", body: "waiting" },
      { clientMsgId: "b", roomId: "r", body: "acknowledged", sentId: "m9" },
      { clientMsgId: "c", roomId: "r", body: "shown", sentId: "m3" },
      { clientMsgId: "d", roomId: "other", body: "elsewhere" },
    ];
    expect(stillPending(pending, "r", [message(3)]).map((entry) => entry.clientMsgId)).toEqual(["a", "b"]);
  });
});

describe("search snippets", () => {
  it("mark the highlighted ranges, in order, ignoring ranges out of the text or overlapping one before", () => {
    expect(highlightParts("the quick brown fox", [[10, 15], [4, 9], [12, 14], [30, 40]])).toEqual([
      { text: "the ", hit: false },
      { text: "quick", hit: true },
      { text: " ", hit: false },
      { text: "brown", hit: true },
      { text: " fox", hit: false },
    ]);
    expect(highlightParts("", [])).toEqual([]);
  });
});

describe("the timeline after a jump, with system lines", () => {
  const joined = (seq: number, username: string): LoggedRoomEvent => ({ type: "member.joined", roomId: "r", seq, member: { user: { id: `u-${username}`, username, displayName: "" }, role: "member" } });
  const nameOf = (id: string): string => ({ "u-ben": "ben", "u-ann": "ann" })[id] ?? "Someone";

  it("asks for newer messages after the newest page's last seq until one reaches the live end", () => {
    expect(nextNewerCursor(page([10, 11], true, { hasNewer: true }), [])).toBe(11);
    expect(nextNewerCursor(page([10, 11], true, { hasNewer: true }), [page([12, 13], true, { hasNewer: true })])).toBe(13);
    expect(nextNewerCursor(page([10, 11], true, { hasNewer: true }), [page([12], true)])).toBeNull();
    expect(nextNewerCursor(page([10, 11], true), [])).toBeNull();
    expect(nextNewerCursor(undefined, [])).toBeNull();
  });

  it("says what joins, leaves, kicks, bans, roles, mutes and setting changes did, and nothing for message events", () => {
    const lines = [
      joined(1, "ben"),
      { type: "member.left", roomId: "r", seq: 2, userId: "u-ben", reason: "left" },
      { type: "member.left", roomId: "r", seq: 3, userId: "u-ben", reason: "removed" },
      { type: "member.left", roomId: "r", seq: 4, userId: "u-x", reason: "banned" },
      { type: "member.role", roomId: "r", seq: 5, userId: "u-ben", role: "admin", byUserId: "u-ann" },
      { type: "member.muted", roomId: "r", seq: 6, userId: "u-ben", until: null, byUserId: "u-ann" },
      { type: "reaction.added", roomId: "r", seq: 7, messageId: "m1", emoji: "👍", userId: "u-ben", count: 1 },
    ] satisfies LoggedRoomEvent[];
    expect(lines.map((event) => systemLineOf(event, nameOf)?.text ?? null)).toEqual([
      "ben joined",
      "ben left",
      "ben was removed",
      "Someone was banned",
      "ben is now an admin",
      "ben was muted by ann",
      null,
    ]);
  });

  it("merges system lines with messages by seq, before the date line of the message after them", () => {
    const items = withDateSeparators([message(2), message(4)], "en", [{ seq: 1, text: "ann joined" }, { seq: 3, text: "ben joined" }, { seq: 5, text: "ben left" }]);
    expect(items.map((item) => (item.kind === "message" ? item.message.seq : item.kind === "system" ? item.line.text : "date"))).toEqual([
      "ann joined",
      "date",
      2,
      "ben joined",
      4,
      "ben left",
    ]);
  });

  it("shows only the system lines inside the span of messages loaded", () => {
    const lines = [1, 3, 6, 9].map((seq) => ({ seq, text: `at ${seq}` }));
    const messages = [message(4), message(7)];
    expect(linesInView(lines, messages, { hasOlder: false, hasNewer: false }).map((line) => line.seq)).toEqual([1, 3, 6, 9]);
    expect(linesInView(lines, messages, { hasOlder: true, hasNewer: false }).map((line) => line.seq)).toEqual([6, 9]);
    expect(linesInView(lines, messages, { hasOlder: true, hasNewer: true }).map((line) => line.seq)).toEqual([6]);
  });

  it("says who saw a message, shortening long lists", () => {
    expect(seenByText([])).toBe("");
    expect(seenByText(["ann", "ben"])).toBe("Seen by ann, ben");
    expect(seenByText(["ann", "ben", "cat", "dan", "eve"])).toBe("Seen by ann, ben, cat and 2 more");
    // Readers beyond the member page the app holds are counted, not named.
    expect(seenByText(["ann"], 3, 2)).toBe("Seen by ann and 2 more");
    expect(seenByText([], 3, 1)).toBe("Seen by 1 person");
    expect(seenByText([], 3, 4)).toBe("Seen by 4 people");
  });
});

describe("@mention completion in the composer", () => {
  it("finds the mention being typed at the caret, not an email address", () => {
    expect(mentionAt("hi @An", 6)).toEqual({ query: "an", start: 3 });
    expect(mentionAt("@", 1)).toEqual({ query: "", start: 0 });
    expect(mentionAt("mail ann@example.com", 20)).toBeNull();
    expect(mentionAt("hi @ann and more", 16)).toBeNull();
  });

  it("inserts @username and a space, the caret after it", () => {
    expect(insertMention("hi @an", 6, 3, "ann_b")).toEqual({ text: "hi @ann_b ", caret: 10 });
    expect(insertMention("hi @an there", 6, 3, "ann")).toEqual({ text: "hi @ann there", caret: 8 });
  });
});
