import type { BucketRule } from "../../config.ts";
import type { Database } from "../../infra/db/database.ts";
import type { KeyValueStore } from "../../infra/kv/kv.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher } from "../events.ts";
import type { UserProfile } from "../users/users.schema.ts";
import type {
  AuthSession,
  IssuedTokens,
  LoginInput,
  RegisterInput,
  RequestMeta,
  WsTicketClaims,
} from "./auth.schema.ts";

export interface AuthService {
  /** CONFLICT for a taken email or username; TOO_MANY_REQUESTS per IP. */
  register(input: RegisterInput, meta: RequestMeta): Promise<IssuedTokens>;
  /** UNAUTHORIZED with one message (and similar timing) for an unknown user and a wrong password. */
  login(input: LoginInput, meta: RequestMeta): Promise<IssuedTokens>;
  /** Rotates the refresh token. A reused token revokes its whole family (UNAUTHORIZED). */
  refresh(refreshToken: string, meta: RequestMeta): Promise<IssuedTokens>;
  /** Revokes the session (refresh family) and tells its sockets. Idempotent. */
  logout(target: { refreshToken: string } | { session: AuthSession }): Promise<void>;
  /** Verifies an access token: signature, alg, iss, aud, typ, exp — and that its session is still alive. */
  verifyAccessToken(token: string): Promise<AuthSession>;
  me(session: AuthSession): Promise<UserProfile>;
  /** A one-time ticket (≥128 bits, ≤30 s) for the WebSocket upgrade. */
  issueWsTicket(
    session: AuthSession,
    resume: Record<string, number> | undefined,
  ): Promise<{ ticket: string; expiresAt: string }>;
  /** Consumes the ticket atomically; null when unknown, expired or already used. */
  redeemWsTicket(ticket: string): Promise<WsTicketClaims | null>;
}

export interface AuthServiceDeps {
  database: Database;
  kv: KeyValueStore;
  rateLimiter: RateLimiter;
  events: EventPublisher;
  clock: Clock;
  logger: Logger;
  jwt: { secret: string; issuer: string; audience: string; accessTokenTtlSeconds: number };
  refreshTokenTtlSeconds: number;
  rateLimits: { authPerIp: BucketRule; authPerAccount: BucketRule };
}

export function createAuthService(deps: AuthServiceDeps): AuthService {
  void deps;
  throw new Error("not implemented yet");
}
