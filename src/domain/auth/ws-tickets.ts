import { z } from "zod";
import type { KeyValueStore } from "../../infra/kv/kv.ts";
import type { Clock } from "../../lib/clock.ts";
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
  resume: z.record(z.string(), z.number()).nullable(),
  /** The KV's TTL is whole seconds and lazily enforced by some stores; this is the exact deadline. */
  expiresAt: z.number(),
});

export interface WsTickets {
  issue(session: AuthSession, resume: Record<string, number> | undefined): Promise<{ ticket: string; expiresAt: Date }>;
  /** The claims, or null when unknown, expired or already used. Of concurrent redeemers at most one wins. */
  redeem(ticket: string): Promise<WsTicketClaims | null>;
}

export function createWsTickets(deps: { kv: KeyValueStore; clock: Clock }): WsTickets {
  const { kv, clock } = deps;
  return {
    async issue(session, resume) {
      const ticket = newOpaqueToken();
      const expiresAt = clock.now().getTime() + WS_TICKET_TTL_SECONDS * 1000;
      const record = { userId: session.userId, sessionId: session.sessionId, resume: resume ?? null, expiresAt };
      await kv.set(ticketKey(hashOpaqueToken(ticket)), JSON.stringify(record), { ttlSeconds: WS_TICKET_TTL_SECONDS });
      return { ticket, expiresAt: new Date(expiresAt) };
    },
    async redeem(ticket) {
      if (!OPAQUE_TOKEN_PATTERN.test(ticket)) return null;
      const record = readStoredRecord(TicketRecord, await kv.take(ticketKey(hashOpaqueToken(ticket))));
      if (!record || record.expiresAt <= clock.now().getTime()) return null;
      return { userId: record.userId, sessionId: record.sessionId, resume: record.resume };
    },
  };
}
