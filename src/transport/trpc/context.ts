import type { Context as HonoContext } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { BucketRule } from "../../config.ts";
import type { AuthSession, RequestMeta } from "../../domain/auth/auth.schema.ts";
import type { Services } from "../../domain/services.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { createLogger, type Logger } from "../../lib/logger.ts";
import type { Metrics } from "../../lib/metrics.ts";

/** Reads and writes the HttpOnly refresh-token cookie for the current request. */
export interface RefreshCookieJar {
  read(): string | null;
  set(token: string, expiresAt: Date): void;
  clear(): void;
}

// A type alias, not an interface: @hono/trpc-server wants contexts assignable to Record<string, unknown>.
export type TrpcContext = {
  services: Services;
  meta: RequestMeta;
  logger: Logger;
  /** Null for in-process callers (tests, scripts), which nothing counts. */
  metrics: Metrics | null;
  /**
   * Verifies the bearer access token (if any). Null when absent; throws UNAUTHORIZED when present but invalid.
   * Resolved once per HTTP request, however many calls a batch holds.
   */
  authenticate(): Promise<AuthSession | null>;
  /**
   * Charges one call to the caller's budget — the signed-in user's, else the client address's — so a batch of n
   * calls costs what n requests would. TOO_MANY_REQUESTS when it is spent.
   */
  chargeCall(session: AuthSession | null): Promise<void>;
  /** While this instance drains and its tickets would die with it: seconds until it is gone. Else null. */
  drainingFor(): number | null;
  refreshCookie: RefreshCookieJar;
  /**
   * True when the request carries an Origin header from the allowlist. Endpoints that act on the refresh cookie
   * require it: the cookie is ambient, so a cross-origin (or origin-less) request must not be able to use it.
   */
  hasAllowedOrigin(): boolean;
};

export interface HttpContextOptions {
  services: Services;
  logger: Logger;
  metrics: Metrics;
  rateLimiter: RateLimiter;
  /** Whether (and for how long still) this instance is draining. */
  drainingFor(): number | null;
  /** Calls per signed-in user, and per client address for calls made without signing in. */
  callBudget: { perUser: BucketRule; perIp: BucketRule };
  allowedOrigins: readonly string[];
  cookieSecure: boolean;
  /** The client address as the runtime (or a trusted proxy header) reports it. */
  clientIp(c: HonoContext): string | null;
}

/** The refresh cookie's name. `__Host-` pins it to this origin, path "/" and Secure (browsers enforce it). */
export function refreshCookieName(secure: boolean): string {
  return secure ? "__Host-parley_rt" : "parley_rt";
}

/** The context of one tRPC request over HTTP. */
export function createHttpContext(c: HonoContext, options: HttpContextOptions): TrpcContext {
  const name = refreshCookieName(options.cookieSecure);
  const origin = c.req.header("origin");
  const meta: RequestMeta = { ip: options.clientIp(c), userAgent: c.req.header("user-agent")?.slice(0, 256) ?? null };
  let session: Promise<AuthSession | null> | null = null;
  return {
    services: options.services,
    meta,
    logger: options.logger,
    metrics: options.metrics,
    authenticate: () => {
      session ??= (async () => {
        const header = c.req.header("authorization");
        if (!header) return null;
        const match = /^Bearer ([A-Za-z0-9._-]{1,4096})$/.exec(header);
        // A malformed header is an invalid credential, not an anonymous request.
        return options.services.auth.verifyAccessToken(match?.[1] ?? "");
      })();
      return session;
    },
    drainingFor: () => options.drainingFor(),
    chargeCall: async (caller) => {
      const [key, rule] = caller
        ? [`calls-user:${caller.userId}`, options.callBudget.perUser]
        : [`calls-ip:${meta.ip ?? "unknown"}`, options.callBudget.perIp];
      const decision = await options.rateLimiter.consume(key, rule);
      if (!decision.allowed) {
        throw new DomainError("TOO_MANY_REQUESTS", "too many calls; slow down", decision.retryAfterSeconds);
      }
    },
    refreshCookie: {
      read: () => getCookie(c, name) ?? null,
      set: (token, expiresAt) =>
        setCookie(c, name, token, {
          httpOnly: true,
          secure: options.cookieSecure,
          sameSite: "Strict",
          path: "/",
          expires: expiresAt,
        }),
      clear: () => deleteCookie(c, name, { path: "/", secure: options.cookieSecure }),
    },
    hasAllowedOrigin: () => origin !== undefined && options.allowedOrigins.includes(origin),
  };
}

/**
 * A context without HTTP, for calling procedures in-process (tests, scripts): the caller is `session` (or
 * anonymous), the origin counts as allowed, and the cookie jar is a plain variable.
 */
export function createInnerContext(options: {
  services: Services;
  session?: AuthSession | null;
  meta?: RequestMeta;
  cookie?: { value: string | null };
  logger?: Logger;
}): TrpcContext {
  const cookie = options.cookie ?? { value: null };
  return {
    services: options.services,
    meta: options.meta ?? { ip: "127.0.0.1", userAgent: "in-process" },
    logger: options.logger ?? createLogger({ level: "silent" }),
    metrics: null,
    authenticate: async () => options.session ?? null,
    chargeCall: async () => {},
    drainingFor: () => null,
    refreshCookie: {
      read: () => cookie.value,
      set: (token) => {
        cookie.value = token;
      },
      clear: () => {
        cookie.value = null;
      },
    },
    hasAllowedOrigin: () => true,
  };
}
