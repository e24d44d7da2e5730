/** What the server returns from register, login and refresh. */
export interface IssuedTokens {
  accessToken: string;
  accessTokenExpiresAt: string;
  /** Only when the client asked for it in the body (non-browser clients). */
  refreshToken?: string;
}

export interface SessionTokens {
  accessToken: string;
  accessTokenExpiresAt: string;
  /** Null in cookie mode: the browser holds the refresh token as an HttpOnly cookie. */
  refreshToken: string | null;
}

export interface Session {
  current(): SessionTokens | null;
  accept(tokens: IssuedTokens): void;
  clear(): void;
  /** A usable access token — refreshed first if it expires within the margin — or null when signed out. */
  accessToken(): Promise<string | null>;
  /** Rotates the refresh token now. Concurrent callers share one request (a reused token would revoke the session). */
  refresh(): Promise<void>;
}

/** Access tokens this close to expiry are refreshed before use rather than sent to fail. */
const EXPIRY_MARGIN_MS = 30_000;

export function createSession(options: {
  refreshTokenIn: "cookie" | "body";
  callRefresh(refreshToken: string | null): Promise<IssuedTokens>;
  onChange?(tokens: SessionTokens | null): void;
  initial?: SessionTokens | null;
  now?: () => number;
}): Session {
  const now = options.now ?? Date.now;
  let tokens: SessionTokens | null = options.initial ?? null;
  let inFlight: Promise<void> | null = null;

  const set = (next: SessionTokens | null): void => {
    tokens = next;
    options.onChange?.(next);
  };

  const session: Session = {
    current: () => tokens,
    accept(issued) {
      set({
        accessToken: issued.accessToken,
        accessTokenExpiresAt: issued.accessTokenExpiresAt,
        refreshToken: options.refreshTokenIn === "body" ? (issued.refreshToken ?? tokens?.refreshToken ?? null) : null,
      });
    },
    clear: () => set(null),
    async accessToken() {
      if (!tokens) return null;
      if (Date.parse(tokens.accessTokenExpiresAt) - now() < EXPIRY_MARGIN_MS) await session.refresh();
      return tokens?.accessToken ?? null;
    },
    refresh() {
      // Cleared in a `.finally` callback, which always runs after this assignment: an attempt that fails before
      // its first await (no refresh token) must not stay cached as the answer to every later refresh.
      inFlight ??= (async () => {
        try {
          if (options.refreshTokenIn === "body" && !tokens?.refreshToken) throw new Error("not signed in");
          session.accept(await options.callRefresh(tokens?.refreshToken ?? null));
        } catch (error) {
          set(null);
          throw error;
        }
      })().finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
  };
  return session;
}
