import type { Message } from "../../../src/contract.ts";

export interface PendingSend {
  clientMsgId: string;
  roomId: string;
  body: string;
  /** What the message answers: a message to quote, a thread to join (see `SendOptions`). */
  replyTo?: string;
  threadRootId?: string;
  alsoInRoom?: boolean;
  attachments?: string[];
}

/**
 * Why a send was given up: the server refused it for good (bad input, not a member, muted, …) or for now in a way
 * that is the sender's to retry (`reason` SLOW_MODE, with `retryAfterSeconds`: the room's slow mode).
 */
export class SendRejectedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The server's finer cause (MUTED, POST_POLICY, BLOCKED, SLOW_MODE, …), when it gave one. */
    readonly reason: string | null = null,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = "SendRejectedError";
  }
}

/**
 * Why a send was given up without an answer: the connection closed for good (`disconnect()`, logout, a revoked
 * session) while it was pending. It may or may not have been committed: sending again with the same `clientMsgId`
 * (`send(roomId, body, { clientMsgId })`) after reconnecting is safe — the server deduplicates.
 */
export class ConnectionClosedError extends Error {
  constructor(
    readonly clientMsgId: string,
    readonly reason: string,
  ) {
    super(`the connection closed before the send was acknowledged: ${reason}`);
    this.name = "ConnectionClosedError";
  }
}

export interface Outbox {
  add(send: PendingSend): Promise<Message>;
  pending(): PendingSend[];
  acknowledge(clientMsgId: string, message: Message): void;
  reject(clientMsgId: string, error: SendRejectedError): void;
  has(clientMsgId: string): boolean;
  /** Rejects every pending send (the connection closed for good). */
  abandon(reason: string): void;
}

/**
 * Sends not yet acknowledged. They survive reconnects and are re-sent with the same clientMsgId until the server
 * acknowledges them: the server deduplicates, so a retry can never create a second message.
 */
export function createOutbox(): Outbox {
  const entries = new Map<string, { send: PendingSend; resolve(message: Message): void; reject(error: Error): void }>();
  return {
    add: (send) => new Promise((resolve, reject) => entries.set(send.clientMsgId, { send, resolve, reject })),
    pending: () => [...entries.values()].map((entry) => entry.send),
    acknowledge(clientMsgId, message) {
      entries.get(clientMsgId)?.resolve(message);
      entries.delete(clientMsgId);
    },
    reject(clientMsgId, error) {
      entries.get(clientMsgId)?.reject(error);
      entries.delete(clientMsgId);
    },
    has: (clientMsgId) => entries.has(clientMsgId),
    abandon(reason) {
      for (const [clientMsgId, entry] of entries) entry.reject(new ConnectionClosedError(clientMsgId, reason));
      entries.clear();
    },
  };
}

/** A fresh idempotency key: 32 hex characters, within the server's 8–64 [A-Za-z0-9_-]. */
export function newClientMsgId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}
