import { type AppRouter, createParleyClient } from "@parley/client";
import { bridgeQueryCache } from "@parley/client/tanstack-query";
import { QueryClient } from "@tanstack/react-query";
import { createTRPCClient } from "@trpc/client";

/**
 * The API's base URL: the page's own origin (Parley serves this app at `/`), or PARLEY_URL given at build time
 * (`PARLEY_URL=https://chat.example.com npm run build --workspace web`) to host the app elsewhere.
 */
const configured: string | undefined = import.meta.env.VITE_PARLEY_URL || import.meta.env.PARLEY_URL;
export const apiUrl = configured || location.origin;

/** Tokens (the refresh token is an HttpOnly cookie), the realtime connection and its outbox. */
export const parley = createParleyClient({ url: apiUrl });

export const queryClient = new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } });

/** What TanStack Query calls procedures through: the SDK's link sends the access token and refreshes it. */
export const trpcClient = createTRPCClient<AppRouter>({ links: [parley.link()] });

/**
 * Signed in: live events change the cached rooms.list, messages.list and invitations in place (the views use
 * staleTime: Infinity), then the socket opens. The bridge is wired first (it learns who "me" is from `ready`), and
 * only once signed in: it reads users.blocked at once. The returned function stops the bridge (signing out).
 */
export function startSession(): () => void {
  const stop = bridgeQueryCache({ realtime: parley.realtime, queryClient, blocked: parley.realtime.blocked });
  parley.realtime.connect();
  return stop;
}
