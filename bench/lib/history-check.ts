import { sql } from "drizzle-orm";
import type { Database } from "../../src/infra/db/database.ts";
import type { SeededHistory } from "./history-seed.ts";
import { PHRASE, RARE_WORD } from "./history-vocabulary.ts";

type Rows = Record<string, unknown>[];

/** postgres.js answers a row list, PGlite `{ rows }`. */
export async function query(database: Database, text: string): Promise<Rows> {
  const result = (await database.db.execute(sql.raw(text))) as unknown;
  if (Array.isArray(result)) return result as Rows;
  return ((result as { rows?: Rows }).rows ?? []) as Rows;
}

/**
 * Fails unless the seeded history keeps the write path's invariants (see seedHistory); answers the figures the
 * benchmark reports.
 */
export async function checkHistory(database: Database, readerId: string): Promise<Omit<SeededHistory, "reader" | "rooms" | "seconds">> {
  const broken = await query(
    database,
    `select 'room log not 1…last_seq' as problem, count(*) as rooms from rooms r
       where r.last_seq <> (select count(*) from room_events e where e.room_id = r.id)
          or r.last_seq <> (select coalesce(max(seq), 0) from room_events e where e.room_id = r.id)
     union all
     select 'main_ordinal not 1…main_count', count(*) from rooms r
       where r.main_count <> (select count(*) from messages m where m.room_id = r.id and m.main_ordinal is not null)
          or r.main_count <> (select coalesce(max(main_ordinal), 0) from messages m where m.room_id = r.id)
     union all
     select 'message seq is not its message.created', count(*) from messages m
       left join room_events e on e.room_id = m.room_id and e.seq = m.seq
       where e.message_id is distinct from m.id or e.type <> 'message.created'
     union all
     select 'reactions aggregate differs from message_reactions', count(*) from (
         select id, (select sum((x ->> 'count')::int) from jsonb_array_elements(reactions) as x) as total from messages where reactions <> '[]'::jsonb
       ) as aggregated full join (select message_id, count(*) as total from message_reactions group by message_id) as rows
         on rows.message_id = aggregated.id
       where aggregated.total is distinct from rows.total
     union all
     select 'edit_count differs from message_edits', count(*) from (select id, edit_count from messages where edit_count > 0) as edited
       full join (select message_id, count(*) as versions from message_edits group by message_id) as versions on versions.message_id = edited.id
       where edited.edit_count is distinct from versions.versions
     union all
     select 'tombstone with content', count(*) from messages m where m.deleted_at is not null and (m.body <> '' or m.edit_count > 0 or m.reactions <> '[]'::jsonb)
     union all
     select 'thread summary differs from its replies', count(*) from (select id, thread_reply_count from messages where thread_reply_count > 0) as roots
       full join (select thread_root_id, count(*) as replies from messages where thread_root_id is not null and deleted_at is null group by thread_root_id) as replies
         on replies.thread_root_id = roots.id
       where roots.thread_reply_count is distinct from replies.replies
     union all
     select 'member_count differs from room_members', count(*) from rooms r
       where r.member_count <> (select count(*) from room_members m where m.room_id = r.id)`,
  );
  const problems = broken.filter((row) => Number(row.rooms) > 0).map((row) => `${String(row.problem)}: ${String(row.rooms)}`);
  if (problems.length > 0) throw new Error(`seeded history breaks invariants: ${problems.join("; ")}`);
  const byType = await query(database, "select type, count(*) as events from room_events group by type order by type");
  const [split] = await query(
    database,
    `select count(*) filter (where e.room_id in (select room_id from room_members where user_id = '${readerId}')) as reader_events,
       count(*) filter (where e.room_id not in (select room_id from room_members where user_id = '${readerId}')) as other_events
     from room_events e`,
  );
  const [visible] = await query(
    database,
    `select count(*) filter (where m.search @@ to_tsquery('simple', '${RARE_WORD}')) as rare,
       count(*) filter (where m.search @@ phraseto_tsquery('simple', '${PHRASE}')) as phrase,
       (select count(*) from messages) as messages
     from messages m where m.deleted_at is null and m.room_id in (select room_id from room_members where user_id = '${readerId}')`,
  );
  return {
    eventsByType: Object.fromEntries(byType.map((row) => [String(row.type), Number(row.events)])),
    readerRoomEvents: Number(split?.reader_events),
    otherRoomEvents: Number(split?.other_events),
    messages: Number(visible?.messages),
    visible: { rare: Number(visible?.rare), phrase: Number(visible?.phrase) },
  };
}
