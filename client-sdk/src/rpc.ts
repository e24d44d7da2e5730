import { createTRPCClient, httpBatchLink, splitLink, type TRPCClient, type TRPCLink, TRPCClientError } from "@trpc/client";
import { observable } from "@trpc/server/observable";
import type { AppRouter } from "../../src/contract.ts";
import type { Session } from "./session.ts";

export type ParleyApi = TRPCClient<AppRouter>;

/** The server's TRPC_MAX_BATCH default: calls made together are sent in batches of at most this many. */
export const DEFAULT_MAX_BATCH = 16;

export interface ParleyLinkOptions {
  /** The server's base URL, without a trailing slash. */
  url: string;
  session: Session;
  fetch: typeof fetch;
  /** Calls made together go in batches of at most this many (the server's TRPC_MAX_BATCH). */
  maxBatch: number;
}

/** The typed API: a tRPC client on `parleyLink`. */
export function createApi(options: ParleyLinkOptions): ParleyApi {
  return createTRPCClient<AppRouter>({ links: [parleyLink(options)] });
}

/** For register, login, refresh and logout: no bearer token, no refresh-and-retry (they are what refreshes). */
export function createPublicApi(options: { url: string; fetch: typeof fetch; maxBatch: number }): ParleyApi {
  return createTRPCClient<AppRouter>({ links: [batchLink(options)] });
}

/**
 * The one way the SDK calls procedures, behind `parley.api` and `parley.link()`: batched HTTP carrying the session's
 * access token (refreshed first when it is about to expire). A call refused as UNAUTHORIZED — an expired or
 * rotated-away token — refreshes the session once and is retried. Auth procedures are never retried: they are
 * what signs in and refreshes.
 */
export function parleyLink(options: ParleyLinkOptions): TRPCLink<AppRouter> {
  const authorized = batchLink({ ...options, token: () => options.session.accessToken().catch(() => null) });
  return splitLink({
    condition: (op) => op.path.startsWith("auth."),
    true: authorized,
    false: [retryAfterRefresh(options.session), authorized],
  });
}

/** The tRPC error code of a refused call (`UNAUTHORIZED`, `CONFLICT`, …); null for anything else. */
export function errorCodeOf(error: unknown): string | null {
  return error instanceof TRPCClientError ? ((error.data as { code?: string } | undefined)?.code ?? null) : null;
}

/** When a refused call (TOO_MANY_REQUESTS, SERVICE_UNAVAILABLE) may be tried again, if the server said. */
export function retryAfterSecondsOf(error: unknown): number | null {
  if (!(error instanceof TRPCClientError)) return null;
  const seconds = (error.data as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  return typeof seconds === "number" && seconds > 0 ? seconds : null;
}

export function isUnauthorized(error: unknown): boolean {
  return errorCodeOf(error) === "UNAUTHORIZED";
}

/** Batched HTTP to `<url>/trpc`, with the bearer token `token` gives (none when it gives null). */
function batchLink(options: { url: string; fetch: typeof fetch; maxBatch: number; token?: () => Promise<string | null> }): TRPCLink<AppRouter> {
  const token = options.token;
  return httpBatchLink({
    url: `${options.url}/trpc`,
    fetch: withCredentials(options.fetch),
    maxItems: options.maxBatch,
    ...(token && {
      headers: async (): Promise<Record<string, string>> => {
        const value = await token();
        return value ? { authorization: `Bearer ${value}` } : {};
      },
    }),
  });
}

function retryAfterRefresh(session: Session): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let retried = false;
        let subscription = next(op).subscribe({ next: (value) => observer.next(value), error: onError, complete: () => observer.complete() });
        function onError(error: TRPCClientError<AppRouter>): void {
          if (retried || !isUnauthorized(error) || !session.current()) {
            observer.error(error);
            return;
          }
          retried = true;
          session.refresh().then(
            () => {
              subscription = next(op).subscribe({ next: (value) => observer.next(value), error: (e) => observer.error(e), complete: () => observer.complete() });
            },
            () => observer.error(error),
          );
        }
        return () => subscription.unsubscribe();
      });
}

/** Browsers must send the HttpOnly refresh cookie to a cross-origin API; elsewhere the option is ignored. */
function withCredentials(fetchImpl: typeof fetch): typeof fetch {
  return ((input: RequestInfo | URL, init?: RequestInit) => fetchImpl(input, { ...init, credentials: "include" })) as typeof fetch;
}
