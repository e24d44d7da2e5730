import { and, desc, eq, gt, inArray, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { BucketRule } from "../../config.ts";
import type { Database, Db } from "../../infra/db/database.ts";
import { messages, roomMembers } from "../../infra/db/schema.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { findMessagesByIds } from "../messages/message-rows.ts";
import { findMemberRoom } from "../rooms/room-access.ts";
import { NO_SEARCHABLE_WORD, ONLY_EXCLUSIONS, type SearchQuery, tsQuerySource } from "./search-query.ts";
import { HEADLINE_OPTIONS, snippetOf } from "./search-snippet.ts";
import { encodeSearchCursor, type SearchHit, type SearchMessagesInput, type SearchPage } from "./search.schema.ts";

export interface SearchService {
  /**
   * Full-text search over the messages of every room the user is a member of now, best first.
   * FORBIDDEN for a `roomId` they are not in; BAD_REQUEST for a query Postgres finds no word in;
   * TOO_MANY_REQUESTS past the per-user search rate.
   */
  search(userId: string, input: SearchMessagesInput): Promise<SearchPage>;
}

export interface SearchServiceDeps {
  database: Database;
  rateLimiter: RateLimiter;
  searchRate: BucketRule;
}

/**
 * The query as Postgres normalises it (lexemes split and lower-cased by the 'simple' configuration, as bodies were),
 * printed as tsquery text. The search itself casts that text back (`::tsquery` reads it as is, without normalising
 * again). BAD_REQUEST when nothing searchable is left, or only exclusions, which no index can answer.
 */
async function normalise(db: Db, query: SearchQuery): Promise<string> {
  const [row] = await db
    .select({ text: sql<string>`q::text`, indexable: sql<string>`querytree(q)`, nodes: sql<number>`numnode(q)` })
    .from(sql`to_tsquery('simple', ${tsQuerySource(query)}) as q`);
  if (!row || Number(row.nodes) === 0) throw new DomainError("BAD_REQUEST", NO_SEARCHABLE_WORD);
  if (row.indexable === "T") throw new DomainError("BAD_REQUEST", ONLY_EXCLUSIONS);
  return row.text;
}

interface HitRow {
  id: string;
  rank: string;
  createdAt: string;
  headline: string;
}

/**
 * One page of hits, ranked.
 *
 * Shape, for a user in many rooms of a large table: `search @@ query` is the only selective condition for arbitrary
 * words, so Postgres reads the GIN index (messages_search_idx: a bitmap of every message holding the query's
 * lexemes), then keeps those in the user's rooms — `room_id in (select … from room_members where user_id = …)`, a
 * hash semi-join on the user's membership rows (room_members_user_idx), however many rooms — and not deleted. Only
 * those are ranked (ts_rank reads the stored tsvector, not the body) and top-N sorted. The cost follows the
 * query's matches in the whole table, never the number of rooms or of messages; a one-letter word is matched
 * exactly rather than as a prefix for that reason (search-query.ts). With `roomId` or `fromUserId` the planner may
 * start from the room's or sender's btree index instead when that is smaller. `ts_headline` re-parses a body, so
 * it runs in the outer query on the page's rows only.
 *
 * Paging is keyset on (rank, created_at, id), all descending — the order itself, so a page continues exactly after
 * the previous one's last hit. An offset would repeat or skip hits when new messages match between two pages (chat
 * rooms keep receiving them); a key does not. A hit whose rank changes between pages (its body was edited) moves,
 * like any row of a keyset page. rank is a float4 carried as Postgres printed it, so `::real` restores it exactly.
 */
async function findHits(db: Db, userId: string, tsquery: string, input: SearchMessagesInput): Promise<HitRow[]> {
  const query = sql`${tsquery}::tsquery`;
  const rank = sql<number>`ts_rank(${messages.search}, ${query})`;
  const cursor = input.cursor;
  const conditions: (SQL | undefined)[] = [
    sql`${messages.search} @@ ${query}`,
    isNull(messages.deletedAt),
    inArray(messages.roomId, db.select({ roomId: roomMembers.roomId }).from(roomMembers).where(eq(roomMembers.userId, userId))),
    input.roomId === undefined ? undefined : eq(messages.roomId, input.roomId),
    input.fromUserId === undefined ? undefined : eq(messages.senderId, input.fromUserId),
    input.has === "link" ? eq(messages.hasLink, true) : undefined,
    input.has === "attachment" ? inArray(messages.kind, ["image", "file"]) : undefined,
    input.before === undefined ? undefined : lt(messages.createdAt, input.before),
    input.after === undefined ? undefined : gt(messages.createdAt, input.after),
    cursor === undefined
      ? undefined
      : sql`(${rank}, ${messages.createdAt}, ${messages.id}) < (${cursor[0]}::real, ${cursor[1]}::timestamptz, ${cursor[2]}::uuid)`,
  ];
  const hits = db
    .select({ id: messages.id, body: messages.body, createdAt: messages.createdAt, rank: rank.as("rank") })
    .from(messages)
    .where(and(...conditions))
    .orderBy(desc(rank), desc(messages.createdAt), desc(messages.id))
    .limit(input.limit + 1)
    .as("hits");
  return db
    .select({
      id: hits.id,
      rank: sql<string>`${hits.rank}::text`,
      createdAt: sql<string>`${hits.createdAt}::text`,
      headline: sql<string>`ts_headline('simple', ${hits.body}, ${query}, ${HEADLINE_OPTIONS})`,
    })
    .from(hits)
    .orderBy(desc(hits.rank), desc(hits.createdAt), desc(hits.id));
}

export function createSearchService(deps: SearchServiceDeps): SearchService {
  const { db } = deps.database;
  return {
    async search(userId, input) {
      const decision = await deps.rateLimiter.consume(`search:${userId}`, deps.searchRate);
      if (!decision.allowed) throw new DomainError("TOO_MANY_REQUESTS", "searching too fast", decision.retryAfterSeconds);
      // The same answer as reading the room: its existence is not revealed to outsiders.
      if (input.roomId !== undefined) await findMemberRoom(db, userId, input.roomId);
      const tsquery = await normalise(db, input.query);
      const rows = await findHits(db, userId, tsquery, input);
      const page = rows.slice(0, input.limit);
      const found = new Map((await findMessagesByIds(db, page.map((row) => row.id), userId)).map((message) => [message.id, message]));
      const hits: SearchHit[] = [];
      for (const row of page) {
        const message = found.get(row.id);
        // Deleted between the two reads: a tombstone is not a hit.
        if (message && message.deletedAt === null) hits.push({ message, snippet: snippetOf(row.headline) });
      }
      const last = rows.length > input.limit ? page.at(-1) : undefined;
      return { hits, nextCursor: last ? encodeSearchCursor([last.rank, last.createdAt, last.id]) : null };
    },
  };
}
