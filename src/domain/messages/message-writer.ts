import type { Db } from "../../infra/db/database.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { LoggedRoomEvent } from "../events.ts";
import type { RoomLog } from "../room-log/room-log.ts";
import {
  commitBatch,
  commitOne,
  type QueuedSend,
  type SendOutcome,
  type SendResult,
  type StatementIssue,
} from "./message-commits.ts";
import type { SendPolicy } from "./send-gate.ts";

/** What one batch cost: how many sends it carried and how many transactions committed them. */
export interface BatchReport {
  sends: number;
  transactions: number;
  path: "batch" | "one-by-one";
  /** New messages committed (idempotent replays and refusals excluded). */
  created: number;
  /** From the first statement to the last commit of the batch. */
  seconds: number;
}

/** Commits sends — each acknowledged only after its transaction committed — and then announces them. */
export interface MessageWriter {
  write(send: QueuedSend): Promise<SendOutcome>;
}

export interface MessageWriterDeps {
  db: Db;
  /** "pipelined" where the driver can take a transaction's independent statements together (postgres.js). */
  statements: StatementIssue;
  /** Publishes and caches what committed (the room log's announce). */
  log: Pick<RoomLog, "announce">;
  logger: Logger;
  /** When mutes are over (the send gate). */
  clock: Clock;
  /** Server-wide send gate rules (REQUIRE_VERIFIED_EMAIL); open by default. */
  policy?: SendPolicy;
  /** The most sends one transaction takes (default 256). */
  maxBatchSize?: number;
  /**
   * The most sends that may wait for a transaction (default 10,000). Past it a send is refused at once with a
   * retryable UNAVAILABLE instead of queuing without bound while the database is slow or down.
   */
  maxQueued?: number;
  /** Called after each batch; for tests and metrics. */
  onBatch?: (report: BatchReport) => void;
}

interface Pending extends QueuedSend {
  resolve(outcome: SendOutcome): void;
  reject(error: unknown): void;
}

/**
 * Group commit. A commit's cost is mostly its flush, and a room's row stays locked through it, so one transaction
 * per send caps a room at ~1/commit-latency. Here sends queue up while a batch transaction is in flight and the
 * next transaction takes up to `maxBatchSize` of them: one flush, one lock per room, many messages. One batch is
 * in flight per instance, so queue order is seq order within a room.
 */
export function createMessageWriter(deps: MessageWriterDeps): MessageWriter {
  const maxBatchSize = deps.maxBatchSize ?? 256;
  const maxQueued = deps.maxQueued ?? 10_000;
  const queue: Pending[] = [];
  let draining = false;

  async function drain(): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, maxBatchSize);
        const results = await commit(batch);
        // Committed, so the senders are answered now; the announcement does not hold their acks up. Not awaited:
        // the next batch's transaction overlaps this one's publishes, which are issued here, in seq order, before
        // the next commit, so the bus carries each room's messages in order.
        settle(batch, results);
        void announce(results);
      }
    } finally {
      draining = false;
    }
  }

  /** Never throws: a failed batch is retried send by send, and whatever still fails fails alone. */
  async function commit(batch: Pending[]): Promise<SendResult[]> {
    const started = performance.now();
    try {
      const results = await commitBatch(deps.db, batch, deps.statements, deps.clock, deps.policy);
      report(batch, results, { transactions: 1, path: "batch" }, started);
      return results;
    } catch (error) {
      deps.logger.warn("batch transaction failed; committing its sends one at a time", { sends: batch.length, error });
      return commitOneByOne(batch, started);
    }
  }

  function report(batch: Pending[], results: SendResult[], how: Pick<BatchReport, "transactions" | "path">, started: number): void {
    const created = results.filter((result) => result.status === "sent" && result.outcome.created).length;
    deps.onBatch?.({ sends: batch.length, created, seconds: (performance.now() - started) / 1000, ...how });
  }

  async function commitOneByOne(batch: Pending[], started: number): Promise<SendResult[]> {
    const results: SendResult[] = [];
    let unavailable: unknown = null;
    let transactions = 0;
    for (const send of batch) {
      if (unavailable !== null) {
        results.push({ status: "failed", error: unavailable });
        continue;
      }
      transactions += 1;
      try {
        results.push(await commitOne(deps.db, send, deps.clock, deps.policy));
      } catch (error) {
        // A send's own content can only be refused (a result) or collide on its clientMsgId (handled in commitOne);
        // anything else is the database failing, so the rest are not tried: against a database that is down,
        // each attempt could wait out a connect timeout. The sender gets a typed, retryable refusal: nothing was
        // committed, and a retry with the same clientMsgId cannot create a second message.
        deps.logger.error("message not committed: database failure", { error });
        unavailable = new DomainError("UNAVAILABLE", "the message was not saved (database unavailable); retry with the same clientMsgId", 1);
        results.push({ status: "failed", error: unavailable });
      }
    }
    report(batch, results, { transactions, path: "one-by-one" }, started);
    return results;
  }

  /** Publishes `message.created` for each new message in seq order, and caches it; neither can fail a send. */
  async function announce(results: SendResult[]): Promise<void> {
    const created: LoggedRoomEvent[] = [];
    for (const result of results) {
      if (result.status !== "sent" || !result.outcome.created) continue;
      const { message, root } = result.outcome;
      created.push(root ? { type: "message.created", roomId: message.roomId, seq: message.seq, message, root } : { type: "message.created", roomId: message.roomId, seq: message.seq, message });
    }
    if (created.length > 0) await deps.log.announce(created);
  }

  function settle(batch: Pending[], results: SendResult[]): void {
    for (const [index, send] of batch.entries()) {
      const result = results[index];
      if (result?.status === "sent") send.resolve(result.outcome);
      else send.reject(result ? result.error : new DomainError("UNAVAILABLE", "the message was not committed"));
    }
  }

  return {
    write(send) {
      if (queue.length >= maxQueued) {
        return Promise.reject(new DomainError("UNAVAILABLE", "too many messages are waiting for the database; retry shortly", 1));
      }
      return new Promise<SendOutcome>((resolve, reject) => {
        queue.push({ ...send, resolve, reject });
        if (draining) return;
        draining = true;
        // A microtask, not a timer: sends made in the same tick join the first batch without adding latency.
        queueMicrotask(() => void drain());
      });
    },
  };
}
