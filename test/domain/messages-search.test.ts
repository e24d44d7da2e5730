import { Buffer } from "node:buffer";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "../../src/domain/messages/messages.schema.ts";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import { NO_SEARCHABLE_WORD, ONLY_EXCLUSIONS } from "../../src/domain/search/search-query.ts";
import type { SearchPage } from "../../src/domain/search/search.schema.ts";
import { createSearchService } from "../../src/domain/search/search.service.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { messages } from "../../src/infra/db/schema.ts";
import { createMemoryRateLimiter } from "../../src/infra/rate-limit/memory.ts";
import { databaseKinds } from "../support/databases.ts";
import { createUser } from "../support/factories.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { createUsers, inviteAndAccept, token } from "./room-fixtures.ts";
import { callerFor, domainError, inputIssues, NOT_A_MEMBER, trpcError } from "./trpc-calls.ts";

type SearchInput = Parameters<ReturnType<typeof callerFor>["messages"]["search"]>[0];

/** What each hit's highlights cover, in its snippet's text. */
function highlighted(page: SearchPage): string[][] {
  return page.hits.map(({ snippet }) => snippet.highlights.map(([start, end]) => snippet.text.slice(start, end)));
}

const bodies = (page: SearchPage): string[] => page.hits.map((hit) => hit.message.body);

describe.each(databaseKinds)("messages.search on %s", (kind) => {
  let deps: TestDeps;
  let alice: UserPublic;
  let bob: UserPublic;
  let carol: UserPublic;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
    [alice, bob, carol] = await createUsers(deps, 3);
  });
  afterAll(async () => {
    await deps?.close();
  });

  /** A private room of these people, the first its owner. */
  async function roomOf(owner: UserPublic, ...others: UserPublic[]): Promise<Room> {
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "private" });
    for (const other of others) await inviteAndAccept(deps, owner.id, room.id, other.id);
    return room;
  }

  async function say(user: UserPublic, room: Room, body: string): Promise<Message> {
    return (await deps.services.messages.send(user.id, { roomId: room.id, clientMsgId: `s-${token()}`, body })).message;
  }

  const search = (user: UserPublic, input: SearchInput): Promise<SearchPage> => callerFor(deps.services, user.id).messages.search(input);

  /** Changes a message row directly: edits, deletes and attachments are not what this suite is about. */
  async function change(message: Message, values: Partial<typeof messages.$inferInsert>): Promise<void> {
    await deps.database.db.update(messages).set(values).where(eq(messages.id, message.id));
  }

  it("finds matches in every room I am in, and none in rooms I am not in or have left", async () => {
    const word = token();
    const ours = await roomOf(alice, bob);
    const mine = await roomOf(carol, alice);
    const theirs = await roomOf(bob, carol);
    const left = await roomOf(carol, alice);
    const expected = [
      await say(alice, ours, `${word} from alice`),
      await say(bob, ours, `bob says ${word}`),
      await say(carol, mine, `carol: ${word}!`),
    ];
    await say(bob, theirs, `${word} where alice is not`);
    await say(carol, left, `${word} before alice left`);
    await deps.services.rooms.leave(alice.id, left.id);

    const page = await search(alice, { query: word });
    expect(page.hits.map((hit) => hit.message.id).sort()).toEqual(expected.map((message) => message.id).sort());
    expect(page.nextCursor).toBeNull();
    const bobs = await search(bob, { query: word });
    expect(bobs.hits.map((hit) => hit.message.roomId).sort()).toEqual([ours.id, ours.id, theirs.id].sort());

    // Leaving takes a room out of search at once.
    await deps.services.rooms.leave(alice.id, mine.id);
    expect(bodies(await search(alice, { query: word })).sort()).toEqual([`${word} from alice`, `bob says ${word}`].sort());
  });

  it("answers someone in no room with an empty page", async () => {
    const loner = await createUser(deps.database);
    expect(await search(loner, { query: "anything" })).toEqual({ hits: [], nextCursor: null });
  });

  it("answers FORBIDDEN for a room I am not in, have left, or that does not exist — as reading it does", async () => {
    const theirs = await roomOf(bob);
    const left = await roomOf(bob, alice);
    await deps.services.rooms.leave(alice.id, left.id);
    for (const roomId of [theirs.id, left.id, crypto.randomUUID()]) {
      expect(await trpcError(search(alice, { query: "anything", roomId }))).toMatchObject(NOT_A_MEMBER);
    }
  });

  it("matches every bare word as a prefix, and all of them", async () => {
    const room = await roomOf(alice);
    const stem = token();
    await say(alice, room, `${stem}ment went well`);
    await say(alice, room, `${stem} on friday`);
    await say(alice, room, `nothing about it on friday`);
    expect(bodies(await search(alice, { query: stem, roomId: room.id })).sort()).toEqual([`${stem} on friday`, `${stem}ment went well`]);
    expect(bodies(await search(alice, { query: `${stem.slice(0, 5)} FRI`, roomId: room.id }))).toEqual([`${stem} on friday`]);
    expect(bodies(await search(alice, { query: `${stem}ments`, roomId: room.id }))).toEqual([]);
  });

  it("matches a quoted phrase only with its words next to each other, in order", async () => {
    const room = await roomOf(alice);
    await say(alice, room, "the big red world");
    await say(alice, room, "a world so big");
    await say(alice, room, "big world tour");
    expect(bodies(await search(alice, { query: '"big world"', roomId: room.id }))).toEqual(["big world tour"]);
    expect(bodies(await search(alice, { query: '"world big"', roomId: room.id }))).toEqual([]);
    expect(bodies(await search(alice, { query: '"world so"', roomId: room.id }))).toEqual(["a world so big"]);
    expect(bodies(await search(alice, { query: "big world", roomId: room.id })).sort()).toEqual(["a world so big", "big world tour", "the big red world"]);
  });

  it("leaves out messages with an excluded word or phrase", async () => {
    const room = await roomOf(alice);
    await say(alice, room, "cats and dogs");
    await say(alice, room, "cats only");
    await say(alice, room, "cats or maybe dogs");
    expect(bodies(await search(alice, { query: "cats -dogs", roomId: room.id }))).toEqual(["cats only"]);
    expect(bodies(await search(alice, { query: 'cats -"and dogs"', roomId: room.id })).sort()).toEqual(["cats only", "cats or maybe dogs"]);
  });

  it("searches any script, case-insensitively, with words split as in the body", async () => {
    const room = await roomOf(alice);
    await say(alice, room, "Привет мир, как дела?");
    await say(alice, room, "Un café crème, s'il vous plaît");
    await say(alice, room, "東京 大阪");
    await say(alice, room, "東京タワーに行く");
    await say(alice, room, "Ελληνικά κείμενα");
    await say(alice, room, "docs at example.com and foo-bar");
    const find = async (query: string): Promise<string[]> => bodies(await search(alice, { query, roomId: room.id })).sort();
    expect(await find("привет МИР")).toEqual(["Привет мир, как дела?"]);
    expect(await find('"привет мир"')).toEqual(["Привет мир, как дела?"]);
    expect(await find("CAFÉ crè")).toEqual(["Un café crème, s'il vous plaît"]);
    expect(await find("cafe")).toEqual([]); // 'simple' keeps accents: café is not cafe
    expect(await find("東京")).toEqual(["東京 大阪", "東京タワーに行く"]);
    expect(await find("大阪")).toEqual(["東京 大阪"]);
    expect(await find("ελληνικα")).toEqual([]);
    expect(await find("ΕΛΛΗΝΙΚΆ")).toEqual(["Ελληνικά κείμενα"]);
    expect(await find("example.com")).toEqual(["docs at example.com and foo-bar"]);
    expect(await find("foo-bar")).toEqual(["docs at example.com and foo-bar"]);
    expect(await find("bar")).toEqual(["docs at example.com and foo-bar"]);
    const page = await search(alice, { query: "привет", roomId: room.id });
    expect(highlighted(page)).toEqual([["Привет"]]);
  });

  it("ranks messages with more matches higher, and equal ranks newest first", async () => {
    const room = await roomOf(alice);
    const word = token();
    const once = await say(alice, room, `${word} once`);
    const thrice = await say(alice, room, `${word} ${word} ${word} thrice`);
    const twice = await say(alice, room, `${word} and ${word} twice`);
    const older = await say(alice, room, `${word} again`);
    const newer = await say(alice, room, `${word} anew`);
    // created_at is the commit time: spread them so "newest first" is about the rows, not the clock's resolution.
    await change(once, { createdAt: new Date("2024-01-01T00:00:01Z") });
    await change(older, { createdAt: new Date("2024-01-01T00:00:02Z") });
    await change(newer, { createdAt: new Date("2024-01-01T00:00:03Z") });
    const ids = (await search(alice, { query: word })).hits.map((hit) => hit.message.id);
    expect(ids).toEqual([thrice.id, twice.id, newer.id, older.id, once.id]);
  });

  it("highlights exactly the matched words in the snippet, as UTF-16 offsets", async () => {
    const room = await roomOf(alice);
    const message = await say(alice, room, "Say hello 👋 to the whole world,\nthen hello again");
    const page = await search(alice, { query: "hello wor", roomId: room.id });
    expect(page.hits).toHaveLength(1);
    const [hit] = page.hits;
    expect(hit?.message).toMatchObject({ id: message.id, body: message.body, sender: alice });
    expect(hit?.snippet.text).toBe(message.body); // short enough to be its own snippet
    expect(hit?.snippet.highlights).toEqual([
      [4, 9],
      [26, 31],
      [38, 43],
    ]);
    expect(highlighted(page)).toEqual([["hello", "world", "hello"]]);

    const long = `${"filler words here ".repeat(20)}needle${" more filler text".repeat(20)}`;
    await say(alice, room, long);
    const [longHit] = (await search(alice, { query: "needle", roomId: room.id })).hits;
    expect(longHit?.snippet.text.length).toBeLessThan(long.length);
    expect(highlighted({ hits: longHit ? [longHit] : [], nextCursor: null })).toEqual([["needle"]]);
  });

  it("filters by room, sender, link, attachment and time", async () => {
    const word = token();
    const one = await roomOf(alice, bob);
    const two = await roomOf(alice);
    const first = await say(alice, one, `${word} first`);
    const linked = await say(bob, one, `${word} see https://example.com/page`);
    const image = await say(alice, two, `${word} caption`);
    await change(image, { kind: "image" });
    await change(first, { createdAt: new Date("2024-03-01T10:00:00Z") });
    await change(linked, { createdAt: new Date("2024-03-02T10:00:00Z") });
    await change(image, { createdAt: new Date("2024-03-03T10:00:00Z") });
    const ids = async (input: Omit<SearchInput, "query">): Promise<string[]> =>
      (await search(alice, { query: word, ...input })).hits.map((hit) => hit.message.id).sort();
    const sorted = (...list: Message[]): string[] => list.map((message) => message.id).sort();

    expect(await ids({})).toEqual(sorted(first, linked, image));
    expect(await ids({ roomId: one.id })).toEqual(sorted(first, linked));
    expect(await ids({ fromUserId: bob.id })).toEqual(sorted(linked));
    expect(await ids({ fromUserId: carol.id })).toEqual([]);
    expect(await ids({ has: "link" })).toEqual(sorted(linked));
    expect(await ids({ has: "attachment" })).toEqual(sorted(image));
    expect(await ids({ before: "2024-03-02T10:00:00Z" })).toEqual(sorted(first));
    expect(await ids({ after: "2024-03-02T10:00:00Z" })).toEqual(sorted(image));
    expect(await ids({ after: "2024-03-01T12:00:00+02:00", before: "2024-03-03T11:00:00+01:00" })).toEqual(sorted(linked));
    expect(await ids({ roomId: two.id, has: "link" })).toEqual([]);
  });

  it("pages through every hit exactly once, in rank order, with the cursor", async () => {
    const room = await roomOf(alice);
    const word = token();
    const sent: string[] = [];
    for (let i = 0; i < 23; i++) {
      // Ranks repeat (i % 4), so ties across page boundaries are walked by created_at and id.
      sent.push((await say(alice, room, `${`${word} `.repeat(1 + (i % 4))}number ${i}`)).id);
    }
    const whole = (await search(alice, { query: word, limit: 50 })).hits.map((hit) => hit.message.id);
    expect([...whole].sort()).toEqual([...sent].sort());
    const walked: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await search(alice, { query: word, limit: 5, ...(cursor ? { cursor } : {}) });
      walked.push(...page.hits.map((hit) => hit.message.id));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(5);
    expect(walked).toEqual(whole);
    // The default page size is 20.
    expect((await search(alice, { query: word })).hits).toHaveLength(20);
  });

  it("finds an edited message by its new body only", async () => {
    const room = await roomOf(alice);
    const [before, after] = [token(), token()];
    const message = await say(alice, room, `draft ${before}`);
    await callerFor(deps.services, alice.id).messages.edit({ messageId: message.id, body: `final ${after}` });
    expect(bodies(await search(alice, { query: before }))).toEqual([]);
    const page = await search(alice, { query: after });
    expect(page.hits.map((hit) => hit.message)).toMatchObject([{ id: message.id, body: `final ${after}`, editedAt: expect.any(String) }]);
    expect(highlighted(page)).toEqual([[after]]);
  });

  it("never returns a deleted message, whoever deleted it", async () => {
    const room = await roomOf(alice, bob);
    const word = token();
    const bySender = await say(bob, room, `${word} bob takes back`);
    const byModerator = await say(bob, room, `${word} alice removes`);
    const kept = await say(bob, room, `${word} stays`);
    await callerFor(deps.services, bob.id).messages.delete({ messageId: bySender.id });
    await callerFor(deps.services, alice.id).messages.delete({ messageId: byModerator.id });
    expect((await search(alice, { query: word })).hits.map((hit) => hit.message.id)).toEqual([kept.id]);
    expect((await search(bob, { query: word })).hits.map((hit) => hit.message.id)).toEqual([kept.id]);
    // deleted_at is what counts, even for a row whose body were somehow still there.
    await change(kept, { deletedAt: new Date(), deletedBy: "moderator" });
    expect((await search(alice, { query: word })).hits).toEqual([]);
  });

  it("refuses bad input with BAD_REQUEST, never a server error", async () => {
    const caller = callerFor(deps.services, alice.id);
    const forged = (key: unknown): string => Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
    const at = "2024-01-01 00:00:00.123456+00";
    const id = crypto.randomUUID();
    expect(await inputIssues(caller.messages.search({ query: "" }))).toEqual(["query must not be empty"]);
    expect(await inputIssues(caller.messages.search({ query: " \n\t " }))).toEqual(["query must not be empty"]);
    expect(await inputIssues(caller.messages.search({ query: "a".repeat(201) }))).toEqual(["query must be at most 200 characters"]);
    expect(await inputIssues(caller.messages.search({ query: "a".repeat(5000) }))).toEqual(["query must be at most 200 characters"]);
    expect(await inputIssues(caller.messages.search({ query: "hello\u0000" }))).toEqual(["query must not contain control characters"]);
    expect(await inputIssues(caller.messages.search({ query: "hello\nworld" }))).toEqual(["query must not contain control characters"]);
    expect(await inputIssues(caller.messages.search({ query: "hello \ud800" }))).toEqual([
      "query must be well-formed Unicode (no lone surrogates)",
    ]);
    expect(await inputIssues(caller.messages.search({ query: "😀 && ||" }))).toEqual([NO_SEARCHABLE_WORD]);
    expect(await inputIssues(caller.messages.search({ query: "-spam" }))).toEqual([ONLY_EXCLUSIONS]);
    expect(await inputIssues(caller.messages.search({ query: "x", cursor: "garbage!" }))).toEqual(["invalid cursor"]);
    expect(await inputIssues(caller.messages.search({ query: "x", before: "2024-03-02T10:00:00Z", after: "2024-03-02T10:00:00Z" }))).toEqual([
      "after must be earlier than before",
    ]);
    for (const cursor of [
      forged(["0.5", at]),
      forged(["1e99", at, id]),
      forged(["1e-50", at, id]),
      forged(["-1", at, id]),
      forged(["NaN", at, id]),
      forged(["0.5", "2024-02-30 00:00:00+00", id]),
      forged(["0.5", at, "not-a-uuid"]),
      forged({ rank: "0.5" }),
      "x".repeat(201),
      "",
    ]) {
      expect(await inputIssues(caller.messages.search({ query: "x", cursor })), cursor).toEqual(["invalid cursor"]);
    }
    for (const input of [
      { query: "x", roomId: "room-1" },
      { query: "x", fromUserId: "bob" },
      { query: "x", has: "image" },
      { query: "x", limit: 0 },
      { query: "x", limit: 51 },
      { query: "x", limit: 2.5 },
      { query: "x", before: "yesterday" },
      { query: "x", before: "2024-02-30T00:00:00Z" },
      { query: "x", after: "2024-01-01" },
      { query: "x", after: "0000-01-01T00:00:00Z" },
      { query: "x", before: 1700000000000 },
      { query: "x", offset: 10 },
      { query: 42 },
      {},
    ]) {
      expect(await inputIssues(caller.messages.search(input as never)), JSON.stringify(input)).not.toEqual([]);
    }
    // A well-formed cursor from elsewhere pages from its key, without error.
    expect(await search(alice, { query: "x", cursor: forged(["0.5", at, id]) })).toEqual({ hits: [], nextCursor: null });
  });

  it("refuses a query Postgres finds no word in, even past the syntax check", async () => {
    // What the schema lets through is checked again against the database's own parser.
    const query = (text: string, exclude: boolean) => ({ terms: [{ kind: "word" as const, text, exclude }] });
    const input = { limit: 20 };
    expect(await domainError(deps.services.search.search(alice.id, { ...input, query: query("😀", false) }))).toMatchObject({
      code: "BAD_REQUEST",
      message: NO_SEARCHABLE_WORD,
    });
    expect(await domainError(deps.services.search.search(alice.id, { ...input, query: query("spam", true) }))).toMatchObject({
      code: "BAD_REQUEST",
      message: ONLY_EXCLUSIONS,
    });
  });

  it("ranks the newest matches only (MAX_RANKED_MATCHES); older ones are reached by narrowing with before", async () => {
    const search = createSearchService({ database: deps.database, rateLimiter: deps.rateLimiter, searchRate: { capacity: 1000, periodSeconds: 1 }, maxRankedMatches: 3 });
    const room = await roomOf(alice);
    const said: Message[] = [];
    for (let n = 1; n <= 5; n++) said.push(await say(alice, room, n === 1 ? "quokka quokka quokka, the oldest and best match" : `quokka ${n}`));
    const input = { query: { terms: [{ kind: "word" as const, text: "quokka", exclude: false }] }, roomId: room.id, limit: 20 };
    const newest = await search.search(alice.id, input);
    expect(newest.hits.map((hit) => hit.message.id).sort()).toEqual(said.slice(2).map((message) => message.id).sort());
    expect(newest.nextCursor).toBeNull();
    const older = await search.search(alice.id, { ...input, before: new Date(said[2]!.createdAt) });
    expect(older.hits.map((hit) => hit.message.id)).toEqual([said[0]!.id, said[1]!.id]); // the oldest ranks first
  });

  it("answers TOO_MANY_REQUESTS with retryAfterSeconds past the per-user search rate", async () => {
    const search = createSearchService({
      database: deps.database,
      rateLimiter: createMemoryRateLimiter({ clock: deps.clock }),
      searchRate: { capacity: 2, periodSeconds: 20 },
    });
    const input = { query: { terms: [{ kind: "word" as const, text: "hello", exclude: false }] }, limit: 20 };
    await search.search(alice.id, input);
    await search.search(alice.id, input);
    expect(await domainError(search.search(alice.id, input))).toMatchObject({ code: "TOO_MANY_REQUESTS", retryAfterSeconds: 10 });
    await search.search(bob.id, input); // per user
    deps.clock.advance(10_000);
    await search.search(alice.id, input);
    // Through the API, the refusal is typed and carries the wait.
    const services = { ...deps.services, search };
    const error = await trpcError(callerFor(services, alice.id).messages.search({ query: "hello" }));
    expect(error.code).toBe("TOO_MANY_REQUESTS");
    expect(error.cause).toMatchObject({ retryAfterSeconds: 10 });
  });
});
