import type { Sql } from "postgres";
import type { LoggedRoomEventType } from "../../client-sdk/src/index.ts";
import type { FleetClient, HeldEvent } from "./fleet.ts";

/** A row of the `messages` table. */
export interface StoredMessage {
  id: string;
  roomId: string;
  seq: number;
  senderId: string;
  clientMsgId: string;
  body: string;
}

/**
 * A row of the `room_events` log: what Postgres committed, the truth every delivery is checked against. For an event
 * about a message, its id and the message's body now.
 */
export interface StoredEvent {
  roomId: string;
  seq: number;
  type: LoggedRoomEventType;
  messageId: string | null;
  body: string | null;
  /** The message was edited or deleted since: events about it carried the body of their time, not this one. */
  changed: boolean;
}

export interface DeliveryReport {
  /** Every violation found, each naming the room, the seq and the client; empty when delivery was perfect. */
  problems: string[];
  /** Committed events per room. */
  stored: Record<string, number>;
  acked: number;
  /** Events pushed live to clients, summed over clients. */
  deliveredLive: number;
  /** `recovered: false` ranges the server announced, and the events paged for them. */
  unrecoveredRanges: number;
  paged: number;
}

/** Reads the committed messages of the rooms straight from Postgres, ascending by seq. */
export async function readStoredMessages(sql: Sql, roomIds: string[]): Promise<Map<string, StoredMessage[]>> {
  const rows = await sql<StoredMessage[]>`
    select id::text as id, room_id::text as "roomId", seq::int as seq, sender_id::text as "senderId",
           client_msg_id as "clientMsgId", body
    from messages where room_id = any(${roomIds}::uuid[]) order by room_id, seq`;
  const byRoom = new Map<string, StoredMessage[]>(roomIds.map((roomId) => [roomId, []]));
  for (const row of rows) byRoom.get(row.roomId)?.push(row);
  return byRoom;
}

/** Reads the rooms' logs straight from Postgres, ascending by seq. */
export async function readStoredEvents(sql: Sql, roomIds: string[]): Promise<Map<string, StoredEvent[]>> {
  const rows = await sql<StoredEvent[]>`
    select e.room_id::text as "roomId", e.seq::int as seq, e.type, e.message_id::text as "messageId", m.body,
           (m.edited_at is not null or m.deleted_at is not null) as changed
    from room_events e left join messages m on m.id = e.message_id
    where e.room_id = any(${roomIds}::uuid[]) order by e.room_id, e.seq`;
  const byRoom = new Map<string, StoredEvent[]>(roomIds.map((roomId) => [roomId, []]));
  for (const row of rows) byRoom.get(row.roomId)?.push(row);
  return byRoom;
}

/** The rooms' `last_seq` in Postgres. */
export async function readLastSeqs(sql: Sql, roomIds: string[]): Promise<Map<string, number>> {
  const rows = await sql<{ id: string; lastSeq: number }[]>`
    select id::text as id, last_seq::int as "lastSeq" from rooms where id = any(${roomIds}::uuid[])`;
  return new Map(rows.map((row) => [row.id, row.lastSeq]));
}

/** What the verifier reads of a client: what it sent, what it was acknowledged, what it held per room. */
export type RecordedClient = Pick<FleetClient, "name" | "rooms" | "record" | "acks" | "pending" | "rejected">;

const MAX_PROBLEMS_PER_STREAM = 6;

/**
 * Checks what the fleet sent and received against Postgres:
 * - the store itself: every room's log has seqs 1..N with no gap or repeat, and `rooms.last_seq` is N;
 * - every acknowledged send is committed (same id, room, seq, body); no send committed twice (bodies are unique);
 *   no send left unacknowledged or rejected;
 * - every member's stream of room events (messages, joins, …), from the position it attached at, is exactly the
 *   room's log: in order, no duplicate, no gap — except ranges the server explicitly announced as
 *   `recovered: false`, which must then have been paged in full; and every event it holds is the stored one for
 *   that seq (its type, the message it is about, and that message's body).
 */
export function checkDelivery(stored: Map<string, StoredEvent[]>, clients: RecordedClient[], lastSeqs?: Map<string, number>): DeliveryReport {
  const problems: string[] = [];
  const report: DeliveryReport = { problems, stored: {}, acked: 0, deliveredLive: 0, unrecoveredRanges: 0, paged: 0 };
  const byMessageId = new Map<string, StoredEvent>();
  const rowsPerBody = new Map<string, StoredEvent[]>();

  for (const [roomId, rows] of stored) {
    report.stored[roomId] = rows.length;
    rows.forEach((row, index) => {
      if (row.seq !== index + 1) problems.push(`store: room ${roomId} has seq ${row.seq} at position ${index + 1} (gap or repeat in Postgres)`);
      if (row.type !== "message.created" || row.messageId === null) return;
      byMessageId.set(row.messageId, row);
      if (row.body === null) return;
      const same = rowsPerBody.get(row.body) ?? [];
      same.push(row);
      rowsPerBody.set(row.body, same);
    });
    const lastSeq = lastSeqs?.get(roomId);
    if (lastSeq !== undefined && lastSeq !== rows.length) problems.push(`store: room ${roomId} says last_seq ${lastSeq} but its log holds ${rows.length} events`);
  }

  for (const client of clients) {
    for (const [body, send] of client.pending) {
      problems.push(`send: ${client.name} never got an ack for "${body}" in room ${send.roomId}`);
    }
    for (const rejection of client.rejected) {
      problems.push(`send: ${client.name} had "${rejection.body}" rejected: ${rejection.error}`);
    }
    for (const ack of client.acks) {
      report.acked += 1;
      const row = byMessageId.get(ack.message.id);
      if (!row) {
        problems.push(`ack: ${client.name} was acknowledged "${ack.body}" as seq ${ack.message.seq} (id ${ack.message.id}) but Postgres has no such message`);
      } else if (row.roomId !== ack.roomId || row.seq !== ack.message.seq || (!row.changed && row.body !== ack.body)) {
        problems.push(`ack: ${client.name}'s ack for "${ack.body}" says room ${ack.roomId} seq ${ack.message.seq}; Postgres has room ${row.roomId} seq ${row.seq} "${row.body}"`);
      }
      const copies = rowsPerBody.get(ack.body)?.length ?? 0;
      if (copies > 1) problems.push(`duplicate: "${ack.body}" by ${client.name} is committed ${copies} times (seqs ${rowsPerBody.get(ack.body)?.map((r) => r.seq).join(", ")})`);
    }

    for (const roomId of client.rooms) {
      const rows = stored.get(roomId) ?? [];
      const record = client.record(roomId);
      report.deliveredLive += record.live.length;
      report.unrecoveredRanges += record.unrecovered.length;
      report.paged += record.paged.length;
      const found = checkStream(`${client.name} in room ${roomId}`, rows, record.baseline, record.live, record.unrecovered, record.paged);
      problems.push(...found.slice(0, MAX_PROBLEMS_PER_STREAM));
      if (found.length > MAX_PROBLEMS_PER_STREAM) problems.push(`… and ${found.length - MAX_PROBLEMS_PER_STREAM} more for ${client.name} in room ${roomId}`);
    }
  }
  return report;
}

function checkStream(
  who: string,
  rows: StoredEvent[],
  baseline: number | null,
  live: HeldEvent[],
  unrecovered: { fromSeq: number; toSeq: number }[],
  paged: HeldEvent[],
): string[] {
  const problems: string[] = [];
  if (baseline === null) return [`${who}: never attached the room (no ready/membership position)`];
  const last = rows.length;
  const matches = (held: HeldEvent, how: string): void => {
    const row = rows[held.seq - 1];
    if (!row) problems.push(`${who}: ${how} seq ${held.seq}, which Postgres does not have (last is ${last})`);
    else if (row.type !== held.type || row.messageId !== held.messageId) {
      problems.push(`${who}: ${how} seq ${held.seq} as ${held.type}${held.messageId ? ` of ${held.messageId}` : ""}; Postgres has ${row.type}${row.messageId ? ` of ${row.messageId}` : ""}`);
    } else if (held.type === "message.created" && !row.changed && row.body !== held.body) problems.push(`${who}: ${how} seq ${held.seq} as "${held.body}"; Postgres has "${row.body}"`);
  };
  const announced = (from: number, to: number): boolean => unrecovered.some((range) => range.fromSeq <= from && range.toSeq >= to);

  let position = baseline;
  for (const held of live) {
    matches(held, "received");
    if (held.seq <= position) {
      problems.push(`${who}: received seq ${held.seq} after ${position} (duplicate or out of order)`);
      continue;
    }
    if (held.seq > position + 1 && !announced(position + 1, held.seq - 1)) {
      problems.push(`${who}: silent gap — seqs ${position + 1}..${held.seq - 1} never arrived and no recovered:false named them`);
    }
    position = held.seq;
  }
  if (position < last && !announced(position + 1, last)) {
    problems.push(`${who}: missing seqs ${position + 1}..${last} at the end (held through ${position}, attached at ${baseline})`);
  }

  const pagedSeqs = new Set<number>();
  for (const held of paged) {
    matches(held, "paged");
    if (pagedSeqs.has(held.seq)) problems.push(`${who}: paged seq ${held.seq} twice`);
    pagedSeqs.add(held.seq);
  }
  for (const range of unrecovered) {
    for (let seq = range.fromSeq; seq <= range.toSeq; seq++) {
      if (!pagedSeqs.has(seq)) {
        problems.push(`${who}: recovered:false named ${range.fromSeq}..${range.toSeq} but seq ${seq} was not paged`);
        break;
      }
    }
  }
  return problems;
}

/**
 * Lets the fleet finish: every issued send acknowledged, then every member holding its rooms through Postgres's
 * last seq (pages included). Resolves either way at the deadline: `checkDelivery` then names what is missing.
 */
export async function settle(sql: Sql, clients: FleetClient[], options: { timeoutMs: number }): Promise<{ settledAfterMs: number; converged: boolean }> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  while (Date.now() < deadline && clients.some((client) => client.pending.size > 0)) await sleep(50);
  const roomIds = [...new Set(clients.flatMap((client) => [...client.rooms]))];
  let converged = false;
  while (Date.now() < deadline) {
    const lastSeqs = await readLastSeqs(sql, roomIds);
    await Promise.all(clients.map((client) => client.paging()));
    converged = clients.every((client) => [...client.rooms].every((roomId) => client.heldThrough(roomId) >= (lastSeqs.get(roomId) ?? 0)));
    if (converged && clients.every((client) => client.pending.size === 0)) break;
    await sleep(100);
  }
  const settledAfterMs = Date.now() - started;
  await sleep(300); // room for a late duplicate to show up before the check
  return { settledAfterMs, converged };
}

/** `settle`, then `checkDelivery` against what Postgres holds. */
export async function settleAndCheck(sql: Sql, clients: FleetClient[], options: { timeoutMs: number }): Promise<DeliveryReport & { settledAfterMs: number }> {
  const { settledAfterMs } = await settle(sql, clients, options);
  const roomIds = [...new Set(clients.flatMap((client) => [...client.rooms]))];
  const report = checkDelivery(await readStoredEvents(sql, roomIds), clients, await readLastSeqs(sql, roomIds));
  return { ...report, settledAfterMs };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The p-th percentile (0–100) of the values, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
