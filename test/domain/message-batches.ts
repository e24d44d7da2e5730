import { sql } from "drizzle-orm";
import { inject } from "vitest";
import type { BatchReport } from "../../src/domain/messages/message-writer.ts";
import { createMessageService, type MessageService } from "../../src/domain/messages/messages.service.ts";
import type { Room } from "../../src/domain/rooms/rooms.schema.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import type { Database } from "../../src/infra/db/database.ts";
import type { Logger } from "../../src/lib/logger.ts";
import { createUser } from "../support/factories.ts";
import type { TestDeps } from "../support/test-deps.ts";
import { inviteAndAccept, token } from "./room-fixtures.ts";

/** A message service of its own (another "instance" when given another Database) that reports every batch. */
export function batchingMessages(
  deps: TestDeps,
  options: { database?: Database; logger?: Logger; maxBatchSize?: number; maxQueued?: number; onBatch?: (report: BatchReport) => void } = {},
): { messages: MessageService; batches: BatchReport[] } {
  const batches: BatchReport[] = [];
  const messages = createMessageService({
    database: options.database ?? deps.database,
    rooms: deps.services.rooms,
    log: deps.services.roomLog,
    rateLimiter: deps.rateLimiter,
    logger: options.logger ?? deps.logger,
    sendRate: { capacity: 100_000, periodSeconds: 1 },
    metrics: deps.metrics,
    batching: { maxBatchSize: options.maxBatchSize, maxQueued: options.maxQueued, onBatch: (report) => {
        batches.push(report);
        options.onBatch?.(report);
      },
    },
  });
  return { messages, batches };
}

/**
 * A private room with `count` members, the first its owner, and `base`: the seq its log stands at once they are
 * in (each invitation is a member.joined that took a seq), so the first message sent after takes base + 1.
 */
export async function roomWith(deps: TestDeps, count: number): Promise<{ room: Room; members: UserPublic[]; base: number }> {
  const members = await Promise.all(Array.from({ length: count }, () => createUser(deps.database)));
  const [owner, ...rest] = members;
  const room = await deps.services.rooms.create(owner!.id, { name: token(), kind: "private" });
  for (const member of rest) await inviteAndAccept(deps, owner!.id, room.id, member.id);
  return { room, members, base: count - 1 };
}

/** The room's newest seq. */
export async function lastSeqOf(deps: TestDeps, roomId: string): Promise<number> {
  return (await deps.services.roomLog.position(roomId))?.lastSeq ?? 0;
}

/** base + 1, …, base + n: the seqs n events take after base. */
export function seqsAfter(base: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => base + 1 + i);
}

export function clientMsgId(label: string): string {
  return `${label}-${token()}`;
}

/** 1, 2, …, n */
export function oneTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** The URL of a Postgres test database (the one `createTestDeps("postgres")` made), for connections of a test's own. */
export async function postgresUrlOf(database: Database): Promise<{ url: string; name: string }> {
  const [row] = (await database.db.execute(sql`select current_database() as name`)) as unknown as { name: string }[];
  if (!row) throw new Error("no current database");
  const url = new URL(inject("postgresUrl") ?? "");
  url.pathname = `/${row.name}`;
  return { url: url.toString(), name: row.name };
}
