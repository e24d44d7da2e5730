import type { TRPCLink } from "@trpc/client";
import type { AppRouter, FileInfo, UserProfile } from "../../src/contract.ts";
import type { BackoffOptions } from "./realtime/backoff.ts";
import type { NetworkEnvironment } from "./realtime/network-watch.ts";
import { createRealtimeClient, type RealtimeClient, type WebSocketConstructor } from "./realtime/realtime-client.ts";
import { createApi, createPublicApi, DEFAULT_MAX_BATCH, errorCodeOf, type ParleyApi, parleyLink } from "./rpc.ts";
import { createSession, type IssuedTokens, type SessionTokens } from "./session.ts";
import { type UploadRequest, uploadFile } from "./uploads.ts";

export interface ParleyClientOptions {
  /** The server's base URL, e.g. "https://chat.example.com". */
  url: string;
  /** Defaults to the global WebSocket (browsers, Bun, Deno, Node ≥ 22). On Node 20 pass `ws`'s WebSocket. */
  WebSocket?: WebSocketConstructor;
  fetch?: typeof fetch;
  /**
   * Where the refresh token lives. "cookie" (the default in browsers): an HttpOnly cookie the script never sees.
   * "body" (the default elsewhere): kept by the SDK, and handed to `onSessionChange` if you want to persist it.
   */
  refreshTokenIn?: "cookie" | "body";
  /** A session saved from `onSessionChange`, to start signed in. */
  session?: SessionTokens | null;
  onSessionChange?(tokens: SessionTokens | null): void;
  reconnect?: BackoffOptions;
  /** How often the socket is pinged (default 25 s), and how long an unanswered ping means a dead link (10 s). */
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  /** Online/offline and visibility hints that trigger an immediate reconnect or check; default the browser's. */
  network?: NetworkEnvironment | null;
  /** How often delivery of others' messages is reported (the member's delivered watermark); 0 turns it off. Default 1000 ms. */
  deliveredReportMs?: number;
  /** Calls made together go in batches of at most this many: the server's TRPC_MAX_BATCH (default 16). */
  maxBatch?: number;
  /** Errors the SDK recovers from on its own (a failed reconnect, a throwing handler), for logging. */
  onError?(error: unknown): void;
}

export interface Credentials {
  login: string;
  password: string;
}

export interface Registration {
  email: string;
  username: string;
  password: string;
  displayName?: string;
}

export interface ParleyClient {
  /** Every procedure, typed from the server's AppRouter; calls carry and refresh the access token. */
  api: ParleyApi;
  /**
   * The link behind `api`, for a tRPC client of your own (e.g. the one you give TanStack Query's TRPCProvider):
   * `createTRPCClient<AppRouter>({ links: [parley.link()] })`. It sends the access token, refreshes it like `api`
   * does, and batches like `api` (`maxBatch`). Put your own links (loggerLink, …) before it; it is terminating.
   */
  link(): TRPCLink<AppRouter>;
  /**
   * The access token, for requests you make yourself (`Authorization: Bearer …`): refreshed first when it is about
   * to expire; null when signed out; rejects when that refresh fails.
   */
  getAccessToken(): Promise<string | null>;
  realtime: RealtimeClient;
  /**
   * Uploads a file the whole way: files.createUpload, the POST straight to storage (with progress in browsers),
   * files.complete. Resolves with the ready file, to attach (`messages.send {attachments: [file.id]}`) or set as an
   * avatar.
   */
  upload(request: UploadRequest): Promise<FileInfo>;
  register(input: Registration): Promise<UserProfile>;
  login(input: Credentials): Promise<UserProfile>;
  /** Cookie mode: signs in again from the refresh cookie (e.g. after a page reload). False when there is none. */
  restore(): Promise<boolean>;
  /** Revokes the session on the server, closes the socket, forgets the tokens. */
  logout(): Promise<void>;
  tokens(): SessionTokens | null;
}

/** The Parley SDK: `.api` for calls, `.realtime` for the socket, on browsers, Bun, Deno and Node. */
export function createParleyClient(options: ParleyClientOptions): ParleyClient {
  const url = options.url.replace(/\/+$/, "");
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const refreshTokenIn = options.refreshTokenIn ?? (typeof document === "undefined" ? "body" : "cookie");
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  const publicApi = createPublicApi({ url, fetch: fetchImpl, maxBatch });
  const session = createSession({
    refreshTokenIn,
    initial: options.session ?? null,
    ...(options.onSessionChange ? { onChange: options.onSessionChange } : {}),
    callRefresh: async (refreshToken) => {
      const call = (): Promise<IssuedTokens> =>
        publicApi.auth.refresh.mutate(refreshToken ? { refreshToken, refreshTokenIn } : { refreshTokenIn });
      try {
        return await call();
      } catch (error) {
        // Tabs share one cookie jar: a tab that lost a refresh race to another finds the successor cookie there.
        const code = errorCodeOf(error);
        if (refreshTokenIn !== "cookie" || (code !== "CONFLICT" && code !== "UNAUTHORIZED")) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
        return call();
      }
    },
  });
  const linkOptions = { url, session, fetch: fetchImpl, maxBatch };
  const api = createApi(linkOptions);
  const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocketImpl) throw new Error("no WebSocket implementation: pass `WebSocket` (on Node 20: the `ws` package)");
  const realtime = createRealtimeClient({
    url,
    api,
    WebSocket: WebSocketImpl,
    ...(options.reconnect ? { backoff: options.reconnect } : {}),
    ...(options.pingIntervalMs ? { pingIntervalMs: options.pingIntervalMs } : {}),
    ...(options.pongTimeoutMs ? { pongTimeoutMs: options.pongTimeoutMs } : {}),
    ...(options.network !== undefined ? { network: options.network } : {}),
    ...(options.deliveredReportMs !== undefined ? { deliveredReportMs: options.deliveredReportMs } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
    signedIn: () => session.current() !== null,
  });

  return {
    api,
    link: () => parleyLink(linkOptions),
    getAccessToken: () => session.accessToken(),
    realtime,
    upload: (request) => uploadFile(api, fetchImpl, request),
    async register(input) {
      const issued = await publicApi.auth.register.mutate({ ...input, refreshTokenIn });
      session.accept(issued);
      return issued.user;
    },
    async login(input) {
      const issued = await publicApi.auth.login.mutate({ ...input, refreshTokenIn });
      session.accept(issued);
      return issued.user;
    },
    async restore() {
      try {
        await session.refresh();
        return true;
      } catch {
        return false;
      }
    },
    async logout() {
      realtime.disconnect();
      const refreshToken = session.current()?.refreshToken;
      try {
        // Through the authed API: the server ends the session named by the body token, the cookie or the bearer.
        if (session.current()) await api.auth.logout.mutate(refreshToken ? { refreshToken } : {});
      } finally {
        session.clear();
      }
    },
    tokens: () => session.current(),
  };
}
