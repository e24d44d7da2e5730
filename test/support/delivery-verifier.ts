import type { Sql } from "postgres";
import type { FleetClient, HeldMessage } from "./fleet.ts";

/** A row of the `messages` table: what Postgres committed, the truth every delivery is checked against. */
export interface StoredMessage {
  id: string;
  roomId: string;
  seq: number;
  senderId: string;
  clientMsgId: string;
  body: string;
}

export interface DeliveryReport {
  /** Every violation found, each naming the room, the seq and the client; empty when delivery was perfect. */
  problems: string[];
  /** Committed messages per room. */
  stored: Record<string, number>;
  acked: number;
  /** Messages pushed live to clients, summed over clients. */
  deliveredLive: number;
  /** `recovered: false` ranges the server announced, and the messages paged for them. */
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
 * - the store itself: every room's seqs are 1..N with no gap or repeat;
 * - every acknowledged send is committed (same id, room, seq, body); no send committed twice (bodies are unique);
 *   no send left unacknowledged or rejected;
 * - every member's stream, from the position it attached at, is exactly the stored sequence: in order, no
 *   duplicate, no gap — except ranges the server explicitly announced as `recovered: false`, which must then have
 *   been paged in full; and every message it holds is the stored one for that seq.
 */
export function checkDelivery(stored: Map<string, StoredMessage[]>, clients: RecordedClient[]): DeliveryReport {
  const problems: string[] = [];
  const report: DeliveryReport = { problems, stored: {}, acked: 0, deliveredLive: 0, unrecoveredRanges: 0, paged: 0 };
  const byId = new Map<string, StoredMessage>();
  const rowsPerBody = new Map<string, StoredMessage[]>();

  for (const [roomId, rows] of stored) {
    report.stored[roomId] = rows.length;
    rows.forEach((row, index) => {
      if (row.seq !== index + 1) problems.push(`store: room ${roomId} has seq ${row.seq} at position ${index + 1} (gap or repeat in Postgres)`);
      byId.set(row.id, row);
      const same = rowsPerBody.get(row.body) ?? [];
      same.push(row);
      rowsPerBody.set(row.body, same);
    });
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
      const row = byId.get(ack.message.id);
      if (!row) {
        problems.push(`ack: ${client.name} was acknowledged "${ack.body}" as seq ${ack.message.seq} (id ${ack.message.id}) but Postgres has no such row`);
      } else if (row.roomId !== ack.roomId || row.seq !== ack.message.seq || row.body !== ack.body) {
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
  rows: StoredMessage[],
  baseline: number | null,
  live: HeldMessage[],
  unrecovered: { fromSeq: number; toSeq: number }[],
  paged: HeldMessage[],
): string[] {
  const problems: string[] = [];
  if (baseline === null) return [`${who}: never attached the room (no ready/membership position)`];
  const last = rows.length;
  const matches = (held: HeldMessage, how: string): void => {
    const row = rows[held.seq - 1];
    if (!row) problems.push(`${who}: ${how} seq ${held.seq}, which Postgres does not have (last is ${last})`);
    else if (row.id !== held.id || row.body !== held.body) problems.push(`${who}: ${how} seq ${held.seq} as "${held.body}"; Postgres has "${row.body}"`);
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
  const report = checkDelivery(await readStoredMessages(sql, roomIds), clients);
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
