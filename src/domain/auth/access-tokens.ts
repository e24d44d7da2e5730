import { errors, jwtVerify, SignJWT } from "jose";
import type { Clock } from "../../lib/clock.ts";
import type { AuthSession } from "./auth.schema.ts";

/** RFC 9068's media type for JWT access tokens; pinned so no other JWT we might sign can pass as one. */
const ACCESS_TOKEN_TYPE = "at+jwt";
const ALGORITHM = "HS256";
const CLOCK_SKEW_SECONDS = 5;

export interface AccessTokenConfig {
  secret: string;
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
}

export type AccessTokenCheck =
  | { valid: true; session: AuthSession }
  /** `reason` is a jose error code (or our own); safe to log, never shown to the client. */
  | { valid: false; reason: string };

export interface AccessTokens {
  issue(session: AuthSession): Promise<{ token: string; expiresAt: Date }>;
  /** Signature, algorithm, iss, aud, typ and exp only; whether the session is still alive is the caller's check. */
  check(token: string): Promise<AccessTokenCheck>;
}

/** HS256 JWTs whose `sub` is the user and `sid` the session (refresh-token family); times come from `clock`. */
export function createAccessTokens(config: AccessTokenConfig, clock: Clock): AccessTokens {
  const key = new TextEncoder().encode(config.secret);
  return {
    async issue(session) {
      const issuedAt = Math.floor(clock.now().getTime() / 1000);
      const expiresAt = issuedAt + config.accessTokenTtlSeconds;
      const token = await new SignJWT({ sid: session.sessionId })
        .setProtectedHeader({ alg: ALGORITHM, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(config.issuer)
        .setAudience(config.audience)
        .setSubject(session.userId)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(key);
      return { token, expiresAt: new Date(expiresAt * 1000) };
    },
    async check(token) {
      try {
        const { payload } = await jwtVerify(token, key, {
          // The algorithm is ours to choose, never the token's: this refuses `none` and any other alg.
          algorithms: [ALGORITHM],
          issuer: config.issuer,
          audience: config.audience,
          typ: ACCESS_TOKEN_TYPE,
          requiredClaims: ["sub", "sid", "iat", "exp"],
          currentDate: clock.now(),
        });
        if (typeof payload.sub !== "string" || typeof payload.sid !== "string") {
          return { valid: false, reason: "claims" };
        }
        // Never from the future and never older than we issue them, whatever its exp says: a token breaking either
        // was not made by `issue`. Instances' clocks differ a little, so an iat slightly ahead is still ours.
        const age = clock.now().getTime() / 1000 - (payload.iat ?? Number.NaN);
        if (!(age >= -CLOCK_SKEW_SECONDS)) return { valid: false, reason: "iat-in-future" };
        if (age > config.accessTokenTtlSeconds + CLOCK_SKEW_SECONDS) return { valid: false, reason: "older-than-ttl" };
        return { valid: true, session: { userId: payload.sub, sessionId: payload.sid } };
      } catch (error) {
        // Everything jwtVerify throws is about the token it was handed (malformed, forged, expired, …).
        return { valid: false, reason: error instanceof errors.JOSEError ? error.code : "malformed" };
      }
    },
  };
}
