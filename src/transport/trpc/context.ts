import type { Context as HonoContext } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AuthSession, RequestMeta } from "../../domain/auth/auth.schema.ts";
import type { Services } from "../../domain/services.ts";

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
  /** Verifies the bearer access token (if any). Null when absent; throws UNAUTHORIZED when present but invalid. */
  authenticate(): Promise<AuthSession | null>;
  refreshCookie: RefreshCookieJar;
  /**
   * True when the request carries an Origin header from the allowlist. Endpoints that act on the refresh cookie
   * require it: the cookie is ambient, so a cross-origin (or origin-less) request must not be able to use it.
   */
  hasAllowedOrigin(): boolean;
};

export interface HttpContextOptions {
  services: Services;
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
  return {
    services: options.services,
    meta: { ip: options.clientIp(c), userAgent: c.req.header("user-agent")?.slice(0, 256) ?? null },
    authenticate: async () => {
      const header = c.req.header("authorization");
      if (!header) return null;
      const match = /^Bearer ([A-Za-z0-9._-]{1,4096})$/.exec(header);
      // A malformed header is an invalid credential, not an anonymous request.
      return options.services.auth.verifyAccessToken(match?.[1] ?? "");
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
}): TrpcContext {
  const cookie = options.cookie ?? { value: null };
  return {
    services: options.services,
    meta: options.meta ?? { ip: "127.0.0.1", userAgent: "in-process" },
    authenticate: async () => options.session ?? null,
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
