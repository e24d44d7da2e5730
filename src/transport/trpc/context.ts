import type { AuthSession, RequestMeta } from "../../domain/auth/auth.schema.ts";
import type { Services } from "../../domain/services.ts";

/** Reads and writes the HttpOnly refresh-token cookie for the current request. */
export interface RefreshCookieJar {
  read(): string | null;
  set(token: string, expiresAt: Date): void;
  clear(): void;
}

export interface TrpcContext {
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
}
