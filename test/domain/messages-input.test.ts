import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser } from "../support/factories.ts";
import { logReader } from "../support/room-log.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { token } from "./room-fixtures.ts";
import { type Caller, callerFor, inputIssues } from "./trpc-calls.ts";

const FAMILY = "👨‍👩‍👧‍👦"; // one character to a reader: 7 code points, 25 bytes of UTF-8

describe.each(databaseKinds)("messages.send input on %s", (kind) => {
  let deps: TestDeps;
  let alice: UserPublic;
  let room: Room;
  let caller: Caller;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
    alice = await createUser(deps.database);
    room = await deps.services.rooms.create(alice.id, { name: token(), kind: "private" });
    caller = callerFor(deps.services, alice.id);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const send = (body: string, clientMsgId = `in-${token()}`): ReturnType<Caller["messages"]["send"]> =>
    caller.messages.send({ roomId: room.id, clientMsgId, body });

  it("refuses empty, whitespace-only and over-long bodies", async () => {
    expect(await inputIssues(send(""))).toContain("body must not be empty");
    expect(await inputIssues(send(" \n\t \u00a0"))).toContain("body must not be empty");
    expect(await inputIssues(send("a".repeat(4001)))).toEqual(["body must be at most 4000 characters"]);
    expect(await inputIssues(send("a".repeat(40_000)))).toEqual(["body must be at most 4000 characters"]);
    expect((await send("a".repeat(4000))).body).toHaveLength(4000);
  });

  it("counts characters as people see them and bounds the bytes at 16 KiB", async () => {
    // 600 families: 600 characters, but 15,000 bytes; 700 are 17,500 bytes, over the limit with far fewer than 4000.
    expect((await send(FAMILY.repeat(600))).body).toBe(FAMILY.repeat(600));
    expect(await inputIssues(send(FAMILY.repeat(700)))).toEqual(["body must be at most 16384 bytes of UTF-8"]);
    // 4000 four-byte emoji are 4000 characters and 16,000 bytes: allowed.
    expect([...(await send("🙂".repeat(4000))).body]).toHaveLength(4000);
  });

  it("refuses control characters other than newline and tab, and lone surrogates", async () => {
    for (const body of ["bell\u0007", "nul\u0000", "esc\u001b[31m", "del\u007f", "c1\u0085", "cr\r\nlf"]) {
      expect(await inputIssues(send(body)), JSON.stringify(body)).toEqual([
        "body must not contain control characters other than newline and tab",
      ]);
    }
    for (const body of ["half \uD83D", "\uDE42 backwards"]) {
      expect(await inputIssues(send(body)), JSON.stringify(body)).toEqual([
        "body must be well-formed Unicode (no lone surrogates)",
      ]);
    }
  });

  it("stores NFC, trimmed, and keeps bidi and zero-width characters, which messages may carry", async () => {
    const sent = await send("  Cafe\u0301 \u202Bשלום\u202C a\u200Db\n\tindented  ");
    expect(sent.body).toBe("Caf\u00e9 \u202Bשלום\u202C a\u200Db\n\tindented");
    expect(await logReader(deps.services.roomLog).messages(room.id, sent.seq - 1, sent.seq)).toEqual([sent]);
  });

  it("takes clientMsgIds of 8–64 characters of A–Z, a–z, 0–9, _ and -", async () => {
    expect(await send("ok", "abcd-12_")).toMatchObject({ body: "ok" });
    expect(await send("ok", `${token()}${"x".repeat(64)}`.slice(0, 64))).toMatchObject({ body: "ok" });
    expect(await inputIssues(send("ok", "short-7"))).toEqual(["clientMsgId must be 8–64 characters"]);
    expect(await inputIssues(send("ok", "x".repeat(65)))).toEqual(["clientMsgId must be 8–64 characters"]);
    expect(await inputIssues(send("ok", "has space!"))).toEqual(["clientMsgId may only use A–Z, a–z, 0–9, _ and -"]);
  });

  it("refuses unknown fields and malformed room ids", async () => {
    const base = { roomId: room.id, clientMsgId: `in-${token()}`, body: "ok" };
    expect(await inputIssues(caller.messages.send({ ...base, seq: 7 } as never))).not.toEqual([]);
    expect(await inputIssues(caller.messages.send({ ...base, roomId: "general" }))).not.toEqual([]);
    expect(await inputIssues(caller.messages.send({ roomId: room.id, body: "ok" } as never))).not.toEqual([]);
  });
});
