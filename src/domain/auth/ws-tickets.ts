import { z } from "zod";
import type { KeyValueStore } from "../../infra/kv/kv.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { ResumePositions } from "../room-log/room-log.schema.ts";
import type { AuthSession, WsTicketClaims } from "./auth.schema.ts";
import { hashOpaqueToken, newOpaqueToken, OPAQUE_TOKEN_PATTERN } from "./opaque-token.ts";
import { readStoredRecord } from "./stored-record.ts";

/**
 * One-time tickets for the WebSocket upgrade, so no token ever travels in a URL (where proxies and access logs
 * keep it). Stored as `auth:ws-ticket:{sha256(ticket)}` and consumed with the KV's atomic `take`.
 */
const ticketKey = (ticketHash: string): string => `auth:ws-ticket:${ticketHash}`;

export const WS_TICKET_TTL_SECONDS = 30;

const TicketRecord = z.object({
  userId: z.string(),
  sessionId: z.string(),
  resume: z.record(z.string(), z.object({ seq: z.number(), epoch: z.number() })).nullable(),
  /** The KV's TTL is whole seconds and lazily enforced by some stores; this is the exact deadline. */
  expiresAt: z.number(),
});

export interface WsTickets {
  issue(session: AuthSession, resume: ResumePositions | undefined): Promise<{ ticket: string; expiresAt: Date }>;
  /**
   * The claims, or null when unknown, expired or already used. Of concurrent redeemers at most one wins.
   * Both methods throw UNAVAILABLE (retryable) when the store cannot be reached.
   */
  redeem(ticket: string): Promise<WsTicketClaims | null>;
}

export function createWsTickets(deps: { kv: KeyValueStore; clock: Clock; logger: Logger }): WsTickets {
  const { kv, clock } = deps;
  let failing = false;

  /** Runs one store operation; a failed store is UNAVAILABLE to the caller (its own message goes to the log only). */
  async function stored<T>(operation: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await operation();
    } catch (error) {
      // Once per outage, not once per request: a down Redis would otherwise flood the log.
      if (!failing) deps.logger.warn("ws ticket store unavailable: socket tickets are refused until it answers", { error });
      failing = true;
      throw new DomainError("UNAVAILABLE", "socket tickets are unavailable right now; try again shortly", 2);
    }
    if (failing) deps.logger.info("ws ticket store available again");
    failing = false;
    return result;
  }

  return {
    async issue(session, resume) {
      const ticket = newOpaqueToken();
      const expiresAt = clock.now().getTime() + WS_TICKET_TTL_SECONDS * 1000;
      const record = { userId: session.userId, sessionId: session.sessionId, resume: resume ?? null, expiresAt };
      await stored(() =>
        kv.set(ticketKey(hashOpaqueToken(ticket)), JSON.stringify(record), { ttlSeconds: WS_TICKET_TTL_SECONDS }),
      );
      return { ticket, expiresAt: new Date(expiresAt) };
    },
    async redeem(ticket) {
      if (!OPAQUE_TOKEN_PATTERN.test(ticket)) return null;
      const record = readStoredRecord(TicketRecord, await stored(() => kv.take(ticketKey(hashOpaqueToken(ticket)))));
      if (!record || record.expiresAt <= clock.now().getTime()) return null;
      return { userId: record.userId, sessionId: record.sessionId, resume: record.resume };
    },
  };
}
