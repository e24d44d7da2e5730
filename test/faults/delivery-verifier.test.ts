import { describe, expect, it } from "vitest";
import { messageFixture } from "../support/message-fixture.ts";
import { checkDelivery, type RecordedClient, type StoredEvent } from "../support/delivery-verifier.ts";
import type { AckRecord, HeldEvent, RoomRecord } from "../support/fleet.ts";

/**
 * The fault scenarios are only as good as their verifier: these specs feed it hand-made recordings and check it
 * names every kind of delivery failure — and accepts a gap the server announced and the client paged.
 */
const ROOM = "00000000-0000-4000-8000-000000000001";

/** A log of `count` messages, seq i being message `id{i}` with body `m{i}`. */
function stored(count: number): Map<string, StoredEvent[]> {
  const rows: StoredEvent[] = Array.from({ length: count }, (_, i) => ({ roomId: ROOM, seq: i + 1, type: "message.created", messageId: `id${i + 1}`, body: `m${i + 1}`, changed: false }));
  return new Map([[ROOM, rows]]);
}

const held = (...seqs: number[]): HeldEvent[] => seqs.map((seq) => ({ seq, type: "message.created", messageId: `id${seq}`, body: `m${seq}`, at: 0 }));

function client(record: Partial<RoomRecord>, extra: { acks?: AckRecord[]; pending?: RecordedClient["pending"] } = {}): RecordedClient {
  const room: RoomRecord = { baseline: 0, live: [], unrecovered: [], paged: [], recovered: 0, ...record };
  return {
    name: "c1",
    rooms: new Set([ROOM]),
    record: () => room,
    acks: extra.acks ?? [],
    pending: extra.pending ?? new Map(),
    rejected: [],
  };
}

function ack(seq: number, id = `id${seq}`): AckRecord {
  return {
    roomId: ROOM,
    body: `m${seq}`,
    issuedAt: 0,
    ackedAt: 0,
    message: messageFixture({ id, roomId: ROOM, seq, body: `m${seq}`, createdAt: "", sender: { id: "u", username: "u", displayName: "u" } }),
  };
}

describe("the delivery verifier", () => {
  it("accepts a complete, ordered stream from the attach position", () => {
    expect(checkDelivery(stored(5), [client({ baseline: 2, live: held(3, 4, 5) }, { acks: [ack(4)] })]).problems).toEqual([]);
  });

  it("names a silent gap, a repeat, a reordering and a missing tail", () => {
    expect(checkDelivery(stored(5), [client({ live: held(1, 3, 4) })]).problems).toEqual([
      "c1 in room 00000000-0000-4000-8000-000000000001: silent gap — seqs 2..2 never arrived and no recovered:false named them",
      "c1 in room 00000000-0000-4000-8000-000000000001: missing seqs 5..5 at the end (held through 4, attached at 0)",
    ]);
    expect(checkDelivery(stored(3), [client({ live: held(1, 2, 2, 3) })]).problems).toEqual([
      "c1 in room 00000000-0000-4000-8000-000000000001: received seq 2 after 2 (duplicate or out of order)",
    ]);
    expect(checkDelivery(stored(3), [client({ live: held(1, 3, 2) })]).problems).toHaveLength(2);
  });

  it("accepts a gap announced as recovered:false only once the range was paged", () => {
    const announced = { live: held(1, 5), unrecovered: [{ fromSeq: 2, toSeq: 4, at: 0 }] };
    expect(checkDelivery(stored(5), [client({ ...announced, paged: held(2, 3, 4) })]).problems).toEqual([]);
    expect(checkDelivery(stored(5), [client({ ...announced, paged: held(2, 4) })]).problems).toEqual([
      "c1 in room 00000000-0000-4000-8000-000000000001: recovered:false named 2..4 but seq 3 was not paged",
    ]);
  });

  it("names an ack with no committed row, a send committed twice, a send never acknowledged, and content that differs", () => {
    const rows = stored(3);
    rows.get(ROOM)!.push({ roomId: ROOM, seq: 4, type: "message.created", messageId: "id4", body: "m3", changed: false });
    const problems = checkDelivery(rows, [
      client(
        { live: [...held(1, 2, 3), { seq: 4, type: "message.created", messageId: "id4", body: "something else", at: 0 }] },
        { acks: [ack(3), ack(9, "ghost")], pending: new Map([["m10", { roomId: ROOM, issuedAt: 0 }]]) },
      ),
    ]).problems;
    expect(problems).toEqual([
      'send: c1 never got an ack for "m10" in room 00000000-0000-4000-8000-000000000001',
      'duplicate: "m3" by c1 is committed 2 times (seqs 3, 4)',
      'ack: c1 was acknowledged "m9" as seq 9 (id ghost) but Postgres has no such message',
      'c1 in room 00000000-0000-4000-8000-000000000001: received seq 4 as "something else"; Postgres has "m3"',
    ]);
  });

  it("names a store whose seqs are not 1..N, or whose last_seq is not its log's end", () => {
    const rows = stored(3);
    rows.get(ROOM)!.splice(1, 1);
    expect(checkDelivery(rows, [], new Map([[ROOM, 3]])).problems).toEqual([
      "store: room 00000000-0000-4000-8000-000000000001 has seq 3 at position 2 (gap or repeat in Postgres)",
      "store: room 00000000-0000-4000-8000-000000000001 says last_seq 3 but its log holds 2 events",
    ]);
  });

  it("holds reactions and edits to the message they are about, and checks bodies only of messages never changed since", () => {
    const rows = stored(3);
    rows.get(ROOM)![0] = { roomId: ROOM, seq: 1, type: "message.created", messageId: "id1", body: "m1 (edited)", changed: true };
    rows.get(ROOM)!.push({ roomId: ROOM, seq: 4, type: "reaction.added", messageId: "id1", body: "m1 (edited)", changed: true });
    rows.get(ROOM)!.push({ roomId: ROOM, seq: 5, type: "message.edited", messageId: "id1", body: "m1 (edited)", changed: true });
    const reaction: HeldEvent = { seq: 4, type: "reaction.added", messageId: "id1", body: null, at: 0 };
    const edit: HeldEvent = { seq: 5, type: "message.edited", messageId: "id1", body: "m1 (edited)", at: 0 };
    // The original body arrived live at seq 1; the edit came later: both are right.
    expect(checkDelivery(rows, [client({ live: [...held(1, 2, 3), reaction, edit] })]).problems).toEqual([]);
    const wrongTarget: HeldEvent = { ...reaction, messageId: "id2" };
    expect(checkDelivery(rows, [client({ live: [...held(1, 2, 3), wrongTarget, edit] })]).problems).toEqual([
      expect.stringContaining("seq 4 as reaction.added of id2; Postgres has reaction.added of id1"),
    ]);
  });

  it("holds every event kind to the log: a join is owed like a message, and must be the event the log has at its seq", () => {
    const rows = stored(4);
    rows.get(ROOM)![1] = { roomId: ROOM, seq: 2, type: "member.joined", messageId: null, body: null, changed: false };
    const joined: HeldEvent = { seq: 2, type: "member.joined", messageId: null, body: null, at: 0 };
    expect(checkDelivery(rows, [client({ live: [...held(1), joined, ...held(3, 4)] })]).problems).toEqual([]);
    expect(checkDelivery(rows, [client({ live: held(1, 3, 4) })]).problems).toEqual([
      "c1 in room 00000000-0000-4000-8000-000000000001: silent gap — seqs 2..2 never arrived and no recovered:false named them",
    ]);
    expect(checkDelivery(rows, [client({ live: [...held(1), { ...joined, type: "member.left" }, ...held(3, 4)] })]).problems).toEqual([
      "c1 in room 00000000-0000-4000-8000-000000000001: received seq 2 as member.left; Postgres has member.joined",
    ]);
  });
});
