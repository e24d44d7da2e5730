import { hashPassword } from "../../src/domain/auth/password.ts";
import type { Database } from "../../src/infra/db/database.ts";
import { checkHistory, query } from "./history-check.ts";
import { PHRASE, PHRASE_EVERY, RARE_WORD, SKEW, VOCABULARY } from "./history-vocabulary.ts";

/**
 * A long room history written straight into Parley's tables with set-based SQL (generate_series, window functions),
 * as if years of use had produced it: one reader who is a member of `readerRooms` rooms — one big room with
 * `bigRoomShare` of the events, the rest of different sizes — and `otherRooms` rooms the reader is not in (so
 * search has to leave their messages out). The same statements run on Postgres and on PGlite.
 *
 * The rows keep every invariant the write path keeps (message-commits.ts, message-changes.ts): each room's log is
 * seqs 1…rooms.last_seq, gapless, in room_events; a message's seq is its `message.created` event's; main-timeline
 * messages have main_ordinal 1…rooms.main_count; edits keep earlier bodies in message_edits and set edited_at /
 * edit_count; deleted messages are tombstones (body '', no versions, no reactions); reactions are message_reactions
 * rows with the jsonb aggregate in first-use order; thread replies are off the main timeline and their roots carry
 * the summary; reply quotes point back into the same room. `checkHistory` verifies them after the load.
 *
 * The log's mix: each room starts with its members joining; then per message one `message.created`, and for some
 * an edit or two (5 %), reactions (6 %, one or two) or a deletion (1.5 %), right after it — about 85 % of events
 * are `message.created`. 6 % of messages are thread replies, 3 % quote an earlier message, 2 % carry a link.
 * Bodies are 3–17 words drawn from history-vocabulary.ts with a skew (⌊V·u^SKEW⌋), so common words are in many
 * messages and most in few; 15 % end with a ticket number (#0–#99999: tokens almost no two messages share), one
 * message in `rareEvery` (about 25 in all) carries RARE_WORD and one in PHRASE_EVERY ends with PHRASE.
 * Messages are inserted in time order across rooms, as they would have been written, not clustered by room.
 */
export interface HistoryShape {
  /** Events in the reader's rooms (approximate: the seed reports the exact figures). */
  events: number;
  readerRooms: number;
  /** Of `events`, the share that goes to the big room. */
  bigRoomShare: number;
  bigRoomMembers: number;
  /** Events in rooms the reader is not a member of. */
  otherEvents: number;
  otherRooms: number;
  /** Accounts the rooms' members are drawn from (besides the reader). */
  users: number;
}

export interface SeededHistory {
  reader: { userId: string; email: string; password: string };
  /** The reader's rooms, the big one first. */
  rooms: { id: string; lastSeq: number }[];
  /** Events per type, over all rooms. */
  eventsByType: Record<string, number>;
  /** Events in the reader's rooms / in the others. */
  readerRoomEvents: number;
  otherRoomEvents: number;
  messages: number;
  /** How many messages carry RARE_WORD and PHRASE, and the reader can see (their rooms, not deleted). */
  visible: { rare: number; phrase: number };
  seconds: number;
}

const READER_EMAIL = "history-reader@bench.parley.test";
const READER_PASSWORD = "history reader password";
/** Extra events per message on average: edits 0.06 + reactions 0.09 + deletions 0.015. */
const EVENTS_PER_MESSAGE = 1.165;
const YEAR_SECONDS = 365 * 86400;
const EMOJI = ["👍", "❤️", "😂", "🎉", "👀", "🙏"];

function int(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

export async function seedHistory(database: Database, shape: HistoryShape, log: (message: string) => void): Promise<SeededHistory> {
  const started = performance.now();
  const users = int(shape.users, "users");
  if (users % 7 === 0 || shape.bigRoomMembers >= users) throw new Error("users must not be a multiple of 7 and must exceed the big room's members");
  const readerRooms = int(shape.readerRooms, "readerRooms");
  const totalRooms = readerRooms + int(shape.otherRooms, "otherRooms");
  const bigEvents = int(Math.round(shape.events * shape.bigRoomShare), "big room events");
  const smallEvents = int(Math.round(shape.events - bigEvents), "small room events");
  const otherEvents = int(Math.round(shape.otherEvents), "otherEvents");
  const estimatedMessages = (shape.events + shape.otherEvents) / EVENTS_PER_MESSAGE;
  const rareEvery = Math.max(100, Math.round(estimatedMessages / 25));
  const start = new Date(Date.now() - 366 * 86400_000).toISOString();
  /** When the event at seq `seq` of a room whose log ends at `lastSeq` happened: the room's year, evenly. */
  const at = (seq: string, lastSeq: string): string => `('${start}'::timestamptz + ((${seq})::float8 * ${YEAR_SECONDS} / (${lastSeq})) * interval '1 second')`;
  const vocabulary = JSON.stringify(VOCABULARY);
  if (vocabulary.includes("$vocab$")) throw new Error("vocabulary must not contain the quote tag");
  const passwordHash = await hashPassword(READER_PASSWORD);
  if (!/^[$A-Za-z0-9+/=,.-]+$/.test(passwordHash)) throw new Error("unexpected password hash format");

  const step = async (label: string, statements: string[]): Promise<void> => {
    const stepStarted = performance.now();
    for (const statement of statements) await query(database, statement);
    log(`seed: ${label} (${((performance.now() - stepStarted) / 1000).toFixed(1)} s)`);
  };

  await step("plan", [
    "select setseed(0.42)",
    `create temp table seed_vocab as
       select (ordinality - 1)::int as idx, value as word from jsonb_array_elements_text($vocab$${vocabulary}$vocab$::jsonb) with ordinality`,
    "create unique index on seed_vocab (idx)",
    `create temp table seed_users as select i as idx, gen_random_uuid() as id from generate_series(0, ${users}) as i`,
    "create unique index on seed_users (idx)",
    `create temp table seed_rooms as
       with spec as (
         select r, r < ${readerRooms} as reader_in,
           case when r = 0 then ${int(shape.bigRoomMembers, "bigRoomMembers")} else 5 + (r * 13) % 26 end as members,
           case when r = 0 then 0 else 1 + (r * 37) % 19 end as weight
         from generate_series(0, ${totalRooms - 1}) as r
       ), budget as (
         select spec.*, case
           when r = 0 then ${bigEvents}::numeric
           when reader_in then ${smallEvents}::numeric * weight / sum(weight) filter (where reader_in and r > 0) over ()
           else ${otherEvents}::numeric * weight / nullif(sum(weight) filter (where not reader_in) over (), 0) end as events
         from spec
       )
       select r, reader_in, members, members + reader_in::int as joins, gen_random_uuid() as id,
         greatest(12, floor((coalesce(events, 0) - members - reader_in::int) / ${EVENTS_PER_MESSAGE}))::int as message_count
       from budget`,
    "create unique index on seed_rooms (r)",
    // Members k = 0… of room r: distinct accounts (7 is coprime with the number of users); k = 0 owns the room.
    `create temp table seed_members as
       select r.r, r.id as room_id, k, u.id as user_id, case when k = 0 then 'owner' else 'member' end as role
       from seed_rooms r cross join lateral generate_series(0, r.members - 1) as k
       join seed_users u on u.idx = 1 + ((r.r * 101 + k * 7) % ${users})
       union all
       select r.r, r.id, r.members, (select id from seed_users where idx = 0), 'member' from seed_rooms r where r.reader_in`,
    "create unique index on seed_members (r, k)",
    // One row per message: what happens to it, and the seq its block of events starts at (after the joins).
    `create temp table seed_plan as
       with drawn as (
         select r.r, r.id as room_id, r.joins, k, random() as u1, random() as u2, random() as u3, random() as u4,
           random() as u5, random() as u6, random() as u7, random() as u8, random() as u9
         from seed_rooms r cross join lateral generate_series(1, r.message_count) as k
       ), flagged as (
         select drawn.*, (k > 10 and k % 10 <> 0 and u1 < 0.06) as is_reply,
           -- Never a thread's root or reply: those keep their thread summary simple to state.
           (k % 10 <> 0 and u1 >= 0.06 and u2 < 0.015) as deleted
         from drawn
       ), counted as (
         select flagged.*,
           case when deleted then 0 when u3 < 0.01 then 2 when u3 < 0.05 then 1 else 0 end as edits,
           case when deleted then 0 when u4 < 0.06 then 1 + floor(u4 * 1000)::int % 2 else 0 end as reacts
         from flagged
       ), blocks as (
         select counted.*, 1 + edits + reacts + deleted::int as block from counted
       )
       select r, room_id, joins, k, is_reply, deleted, edits, reacts, block,
         row_number() over (order by r, k) as n,
         gen_random_uuid() as id,
         floor(u5 * joins)::int as sender_k,
         case when not is_reply and k > 5 and u6 < 0.03 then k - 1 - floor(u6 * 10000)::int % 5 end as quote_k,
         case when is_reply then (k / 10) * 10 end as root_k,
         case when not is_reply then count(*) filter (where not is_reply) over (partition by r order by k) end as main_ordinal,
         3 + floor(u7 * 15)::int as words,
         u8 < 0.02 as has_link,
         u9 < 0.15 as has_number,
         joins + sum(block) over (partition by r order by k) - block + 1 as seq
       from blocks`,
    "create unique index on seed_plan (r, k)",
    "create unique index on seed_plan (n)",
    `alter table seed_rooms add column last_seq bigint, add column main_count bigint`,
    `update seed_rooms set last_seq = joins + totals.blocks, main_count = totals.main
       from (select r, sum(block) as blocks, count(*) filter (where not is_reply) as main from seed_plan group by r) as totals
       where totals.r = seed_rooms.r`,
  ]);

  await step("bodies", [
    `create temp table seed_bodies as
       select p.n,
         (select string_agg(v.word, ' ' order by w.i)
            from (select i, floor(${VOCABULARY.length} * power(random(), ${SKEW}))::int as idx from generate_series(1, p.words) as i) as w
            join seed_vocab v on v.idx = w.idx)
         || case when p.n % ${rareEvery} = 7 then ' ${RARE_WORD}' else '' end
         || case when p.n % ${PHRASE_EVERY} = 11 then ' ${PHRASE}' else '' end
         || case when p.has_number then ' #' || (p.n * 7919) % 100000 else '' end
         || case when p.has_link then ' https://example.org/p/' || p.n else '' end as body
       from seed_plan p`,
    "create unique index on seed_bodies (n)",
  ]);

  await step("threads and reactions", [
    `create temp table seed_threads as
       with replies as (
         select r, root_k, count(*)::int as reply_count, max(seq) as last_reply_seq from seed_plan where is_reply group by r, root_k
       ), firsts as (
         select r, root_k, sender_k, min(seq) as first_seq from seed_plan where is_reply group by r, root_k, sender_k
       ), ranked as (
         select firsts.*, row_number() over (partition by r, root_k order by first_seq) as place from firsts
       ), participants as (
         select ranked.r, ranked.root_k, array_agg(m.user_id order by ranked.first_seq) as participants
         from ranked join seed_members m on m.r = ranked.r and m.k = ranked.sender_k
         where ranked.place <= 10 group by ranked.r, ranked.root_k
       )
       select replies.*, participants.participants from replies join participants using (r, root_k)`,
    "create unique index on seed_threads (r, root_k)",
    // Reactor j of a message is the member after its sender (distinct people); half the messages get one emoji twice.
    `create temp table seed_reactions as
       select p.r, p.id as message_id, m.user_id, e.emoji, p.seq + p.edits + 1 + j as seq,
         count(*) over (partition by p.id, e.emoji order by j) as count_after
       from seed_plan p cross join lateral generate_series(0, p.reacts - 1) as j
       join seed_members m on m.r = p.r and m.k = (p.sender_k + 1 + j) % p.joins
       cross join lateral (select (array['${EMOJI.join("','")}'])[1 + (p.n + j * (p.n % 2))::int % ${EMOJI.length}] as emoji) as e
       where p.reacts > 0`,
    `create temp table seed_reaction_totals as
       select message_id, jsonb_agg(jsonb_build_object('emoji', emoji, 'count', reacted) order by first_seq, emoji) as reactions
       from (select message_id, emoji, count(*) as reacted, min(seq) as first_seq from seed_reactions group by message_id, emoji) as counted
       group by message_id`,
    "create unique index on seed_reaction_totals (message_id)",
  ]);

  await step("users, rooms, members", [
    `insert into users (id, email, username, display_name, password_hash, created_at)
       select id,
         case when idx = 0 then '${READER_EMAIL}' else 'history-' || idx || '@bench.parley.test' end,
         case when idx = 0 then 'history_reader' else 'history_' || idx end,
         case when idx = 0 then 'History Reader' else 'Member ' || idx end,
         -- Nobody signs in as the other members: no password matches '!'.
         case when idx = 0 then '${passwordHash}' else '!' end,
         '${start}'::timestamptz - interval '30 days'
       from seed_users`,
    `insert into rooms (id, kind, name, created_by, last_seq, main_count, created_at, updated_at)
       select r.id, 'public', 'history ' || r.r, m.user_id, r.last_seq, r.main_count, '${start}'::timestamptz, ${at("r.last_seq", "r.last_seq")}
       from seed_rooms r join seed_members m on m.r = r.r and m.k = 0`,
    // With triggers on: room_members keeps rooms.member_count (migration 0004). The reader has read everything.
    `insert into room_members (room_id, user_id, role, joined_at, last_delivered_seq, delivered_at, last_read_seq, read_at)
       select m.room_id, m.user_id, m.role::member_role, ${at("m.k + 1", "r.last_seq")},
         case when m.user_id = u.id then r.last_seq else 0 end, case when m.user_id = u.id then now() end,
         case when m.user_id = u.id then r.last_seq else 0 end, case when m.user_id = u.id then now() end
       from seed_members m join seed_rooms r on r.r = m.r cross join (select id from seed_users where idx = 0) as u`,
  ]);

  // The big tables are loaded without their secondary indexes (rebuilt after, from their own definitions: the same
  // indexes, built in one pass) and without foreign-key triggers (the plan references only rows it inserts).
  const indexes = await query(
    database,
    `select indexname as name, indexdef as definition from pg_indexes
       where schemaname = 'public' and tablename in ('messages', 'room_events', 'message_edits', 'message_reactions')
         and not exists (select 1 from pg_constraint c where c.conindid = format('%I.%I', schemaname, indexname)::regclass)`,
  );
  const time = (seq: string): string => at(seq, "r.last_seq");
  await step(`messages and events (${indexes.length} indexes set aside)`, [
    ...indexes.map((index) => `drop index "${String(index.name)}"`),
    "set session_replication_role = replica",
    `insert into messages (id, room_id, seq, sender_id, client_msg_id, body, created_at, main_ordinal, kind, edited_at, edit_count,
         deleted_at, deleted_by, reply_to_id, thread_root_id, also_in_room, thread_reply_count, thread_last_reply_at,
         thread_participants, reactions, has_link)
       select p.id, p.room_id, p.seq, m.user_id, 'history-' || p.n, case when p.deleted then '' else b.body end, ${time("p.seq")},
         p.main_ordinal, 'text', case when p.edits > 0 then ${time("p.seq + p.edits")} end, p.edits,
         case when p.deleted then ${time("p.seq + 1")} end, case when p.deleted then 'sender' end,
         quoted.id, root.id, false,
         coalesce(t.reply_count, 0), case when t.reply_count is not null then ${time("t.last_reply_seq")} end,
         coalesce(t.participants, '{}'::uuid[]), coalesce(rt.reactions, '[]'::jsonb), p.has_link and not p.deleted
       from seed_plan p
       join seed_rooms r on r.r = p.r
       join seed_members m on m.r = p.r and m.k = p.sender_k
       join seed_bodies b on b.n = p.n
       left join seed_plan quoted on quoted.r = p.r and quoted.k = p.quote_k
       left join seed_plan root on root.r = p.r and root.k = p.root_k
       left join seed_threads t on t.r = p.r and t.root_k = p.k and not p.is_reply
       left join seed_reaction_totals rt on rt.message_id = p.id
       order by p.seq::float8 / r.last_seq`,
    `insert into message_edits (message_id, version, body, replaced_at)
       select p.id, v, left(b.body, greatest(1, length(b.body) - 4 * (p.edits - v + 1))), ${time("p.seq + v")}
       from seed_plan p join seed_rooms r on r.r = p.r join seed_bodies b on b.n = p.n cross join lateral generate_series(1, p.edits) as v
       where p.edits > 0`,
    `insert into message_reactions (message_id, user_id, emoji, created_at)
       select x.message_id, x.user_id, x.emoji, ${time("x.seq")} from seed_reactions x join seed_rooms r on r.r = x.r`,
    `insert into room_events (room_id, seq, type, actor_id, message_id, data, created_at)
       select e.room_id, e.seq, e.type, e.actor_id, e.message_id, e.data, ${time("e.seq")}
       from (
         select m.r, m.room_id, m.k + 1 as seq, 'member.joined' as type, m.user_id as actor_id, null::uuid as message_id,
           jsonb_build_object('userId', m.user_id, 'role', m.role) as data
         from seed_members m
         union all
         select p.r, p.room_id, p.seq, 'message.created', m.user_id, p.id, null from seed_plan p join seed_members m on m.r = p.r and m.k = p.sender_k
         union all
         select p.r, p.room_id, p.seq + v, 'message.edited', m.user_id, p.id, null
         from seed_plan p join seed_members m on m.r = p.r and m.k = p.sender_k cross join lateral generate_series(1, p.edits) as v
         where p.edits > 0
         union all
         select x.r, p.room_id, x.seq, 'reaction.added', x.user_id, x.message_id,
           jsonb_build_object('emoji', x.emoji, 'userId', x.user_id, 'count', x.count_after)
         from seed_reactions x join seed_plan p on p.id = x.message_id
         union all
         select p.r, p.room_id, p.seq + 1, 'message.deleted', m.user_id, p.id, null
         from seed_plan p join seed_members m on m.r = p.r and m.k = p.sender_k where p.deleted
       ) as e join seed_rooms r on r.r = e.r
       order by e.seq::float8 / r.last_seq`,
    "set session_replication_role = origin",
  ]);
  await step("indexes", indexes.map((index) => String(index.definition)));

  const rooms = await query(database, `select id, last_seq from seed_rooms where reader_in order by r`);
  const [reader] = await query(database, "select id from seed_users where idx = 0");
  await step("drop the plan", ["seed_vocab", "seed_users", "seed_rooms", "seed_members", "seed_plan", "seed_bodies", "seed_threads", "seed_reactions", "seed_reaction_totals"].map((table) => `drop table ${table}`));
  await step("vacuum analyze", ["vacuum analyze"]);
  const readerId = String(reader?.id);
  const counts = await checkHistory(database, readerId);
  const seeded: SeededHistory = {
    reader: { userId: readerId, email: READER_EMAIL, password: READER_PASSWORD },
    rooms: rooms.map((row) => ({ id: String(row.id), lastSeq: Number(row.last_seq) })),
    ...counts,
    seconds: (performance.now() - started) / 1000,
  };
  log(`seed: ${seeded.readerRoomEvents + seeded.otherRoomEvents} events, ${seeded.messages} messages in ${seeded.seconds.toFixed(0)} s`);
  return seeded;
}
