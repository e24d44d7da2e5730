import { and, desc, eq, gt, inArray, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { BucketRule } from "../../config.ts";
import type { Database, Db } from "../../infra/db/database.ts";
import { messages, roomMembers, rooms as roomsTable } from "../../infra/db/schema.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { findMessagesByIds } from "../messages/message-rows.ts";
import { notAMember } from "../rooms/room-access.ts";
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
  /** MAX_RANKED_MATCHES unless a spec makes it small. */
  maxRankedMatches?: number;
}

/** What the search needs to know first: the query as Postgres reads it, and the rooms it may look in. */
interface SearchScope {
  /** The query normalised by Postgres, as tsquery text. */
  tsquery: string;
  /** The rooms the caller is a member of now. */
  roomIds: string[];
  /** Rooms of those where the caller reads only from a seq on ("sinceJoin" history): room id → first seq. */
  windows: Map<string, number>;
}

/**
 * One round trip for both: the query as Postgres normalises it (lexemes split and lower-cased by the 'simple'
 * configuration, as bodies were), printed as tsquery text — the search casts that text back with `::tsquery`, which
 * reads it as is, without normalising again — and the caller's rooms. BAD_REQUEST when nothing searchable is left,
 * or only exclusions, which no index can answer.
 */
async function scopeOf(db: Db, userId: string, query: SearchQuery): Promise<SearchScope> {
  const rooms = db.select({ ids: sql`array_to_string(array_agg(${roomMembers.roomId}), ',')` }).from(roomMembers).where(eq(roomMembers.userId, userId));
  const windows = db
    .select({ windows: sql`array_to_string(array_agg(${roomMembers.roomId} || ':' || ${roomMembers.joinedSeq}), ',')` })
    .from(roomMembers)
    .innerJoin(roomsTable, eq(roomsTable.id, roomMembers.roomId))
    .where(and(eq(roomMembers.userId, userId), eq(roomsTable.historyVisibility, "sinceJoin"), gt(roomMembers.joinedSeq, 0)));
  const [row] = await db
    .select({
      tsquery: sql<string>`q::text`,
      indexable: sql<string>`querytree(q)`,
      nodes: sql<number>`numnode(q)`,
      roomIds: sql<string | null>`(${rooms})`,
      windows: sql<string | null>`(${windows})`,
    })
    .from(sql`to_tsquery('simple', ${tsQuerySource(query)}) as q`);
  if (!row || Number(row.nodes) === 0) throw new DomainError("BAD_REQUEST", NO_SEARCHABLE_WORD);
  if (row.indexable === "T") throw new DomainError("BAD_REQUEST", ONLY_EXCLUSIONS);
  const starts = (row.windows ? row.windows.split(",") : []).map((entry) => entry.split(":") as [string, string]);
  return {
    tsquery: row.tsquery,
    roomIds: row.roomIds ? row.roomIds.split(",") : [],
    windows: new Map(starts.map(([roomId, seq]) => [roomId, Number(seq)])),
  };
}

interface HitRow {
  id: string;
  rank: string;
  createdAt: string;
  headline: string;
}

/**
 * How many matches are ranked: the newest ones. A query as common as "the" matches a good share of every room, and
 * ranking all of them (ts_rank reads each match's stored tsvector) is what made such a search slow — 0.3 s for
 * 460k matches of 1M messages. The newest 2,000 are found from the newest end of messages_created_at_idx for a
 * common query (a few thousand index entries checked), or from the GIN bitmap for a rare one (all its matches, which
 * are few), and only they are ranked; older matches of a common query are reached by narrowing it (`before`,
 * `roomId`, `fromUserId`, more words).
 */
export const MAX_RANKED_MATCHES = 2000;

/**
 * One page of hits in `roomIds`: of the newest MAX_RANKED_MATCHES matches, the best ranked.
 *
 * Shape, for a user in many rooms of a large table: `search @@ query` is the only selective condition for arbitrary
 * words, so Postgres starts from the GIN index (messages_search_idx: a bitmap of the messages holding the query's
 * lexemes, in every room). The rooms are bound as one array constant, `room_id = any('{…}'::uuid[])`, so the
 * planner sees which rooms they are and, from room_id's statistics, how much of the table they hold:
 * - a small share (100 rooms of 1,000): it ANDs the GIN bitmap with messages_room_seq_idx's bitmap for those rooms
 *   before touching the heap, so only matches in the caller's rooms are fetched and ranked;
 * - most of the table: the GIN bitmap alone, with the rooms as a hashed `= any` filter.
 * Written as a join or `any(array(select …))` instead, Postgres cannot see the rooms when it plans: measured on
 * 1M messages it repeated the GIN scan once per room in a nested loop (0.5 s for 100 rooms), or bitmapped the
 * whole room index for a user in every room (+45 ms). So the cost follows the query's matches in the caller's
 * rooms, whatever the number of rooms, up to the MAX_RANKED_MATCHES newest (for a common query the planner walks
 * messages_created_at_idx from the newest end instead); a one-letter word matches exactly, not as a prefix
 * (search-query.ts).
 * `ts_headline` re-parses a body, so it runs in the outer query on the page's rows only.
 *
 * Paging is keyset on (rank, created_at, id), all descending, over those candidates — the order itself, so a page continues exactly after
 * the previous one's last hit. An offset would repeat or skip hits when new messages match between two pages (chat
 * rooms keep receiving them); a key does not. A hit whose rank changes between pages (its body was edited) moves,
 * like any row of a keyset page. rank is a float4 carried as Postgres printed it, so `::real` restores it exactly.
 */
async function findHits(db: Db, scope: SearchScope, input: SearchMessagesInput, maxRanked: number): Promise<HitRow[]> {
  const query = sql`${scope.tsquery}::tsquery`;
  const cursor = input.cursor;
  const conditions: (SQL | undefined)[] = [
    sql`${messages.search} @@ ${query}`,
    // Room ids come from room_members (uuids), so the array literal needs no quoting.
    sql`${messages.roomId} = any(${`{${scope.roomIds.join(",")}}`}::uuid[])`,
    isNull(messages.deletedAt),
    visibleIn(scope),
    input.fromUserId === undefined ? undefined : eq(messages.senderId, input.fromUserId),
    input.has === "link" ? eq(messages.hasLink, true) : undefined,
    input.has === "attachment" ? inArray(messages.kind, ["image", "file"]) : undefined,
    input.before === undefined ? undefined : lt(messages.createdAt, input.before),
    input.after === undefined ? undefined : gt(messages.createdAt, input.after),
  ];
  // The newest matches, at most MAX_RANKED_MATCHES of them: what is ranked.
  const candidates = db
    .select({ id: messages.id, body: messages.body, createdAt: messages.createdAt, search: messages.search })
    .from(messages)
    .where(and(...conditions))
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(maxRanked)
    .as("candidates");
  const rank = sql<number>`ts_rank(${candidates.search}, ${query})`;
  const hits = db
    .select({ id: candidates.id, body: candidates.body, createdAt: candidates.createdAt, rank: rank.as("rank") })
    .from(candidates)
    .where(
      cursor === undefined
        ? undefined
        : sql`(${rank}, ${candidates.createdAt}, ${candidates.id}) < (${cursor[0]}::real, ${cursor[1]}::timestamptz, ${cursor[2]}::uuid)`,
    )
    .orderBy(desc(rank), desc(candidates.createdAt), desc(candidates.id))
    .limit(input.limit + 1)
    .as("hits");
  return (
    db
      .select({
        id: hits.id,
        rank: sql<string>`${hits.rank}::text`,
        createdAt: sql<string>`${hits.createdAt}::text`,
        headline: sql<string>`ts_headline('simple', ${hits.body}, ${query}, ${HEADLINE_OPTIONS})`,
      })
      .from(hits)
      // Qualified by hand: a bare "rank" here would name the output column above — the rank as text, which
      // sorts 1e-05 above 0.5.
      .orderBy(sql`"hits"."rank" desc`, desc(hits.createdAt), desc(hits.id))
  );
}

/**
 * In rooms where the caller's history starts at their join, only messages from there on; no condition at all when
 * there are none (the plan described above stays as it is). Ids and seqs come from the database: no quoting needed.
 */
function visibleIn(scope: SearchScope): SQL | undefined {
  const windowed = [...scope.windows].filter(([roomId]) => scope.roomIds.includes(roomId));
  if (windowed.length === 0) return undefined;
  const ids = sql`${`{${windowed.map(([roomId]) => roomId).join(",")}}`}::uuid[]`;
  const starts = sql`${`{${windowed.map(([, seq]) => seq).join(",")}}`}::bigint[]`;
  return sql`(${messages.roomId} <> all(${ids}) or ${messages.seq} >= (${starts})[array_position(${ids}, ${messages.roomId})])`;
}

export function createSearchService(deps: SearchServiceDeps): SearchService {
  const { db } = deps.database;
  return {
    async search(userId, input) {
      const decision = await deps.rateLimiter.consume(`search:${userId}`, deps.searchRate);
      if (!decision.allowed) throw new DomainError("TOO_MANY_REQUESTS", "searching too fast", decision.retryAfterSeconds);
      const { tsquery, roomIds, windows } = await scopeOf(db, userId, input.query);
      // The same answer as reading the room: whether it exists is not revealed to outsiders.
      if (input.roomId !== undefined && !roomIds.includes(input.roomId)) throw notAMember();
      const rooms = input.roomId === undefined ? roomIds : [input.roomId];
      if (rooms.length === 0) return { hits: [], nextCursor: null };
      const rows = await findHits(db, { tsquery, roomIds: rooms, windows }, input, deps.maxRankedMatches ?? MAX_RANKED_MATCHES);
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
