import type { Message, MessagePage } from "@parley/client";
import { describe, expect, it } from "vitest";
import { highlightParts, linkify, mergePages, nextOlderCursor, roomTitle, stillPending, withDateSeparators } from "./timeline.ts";

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
