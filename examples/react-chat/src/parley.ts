import { type AppRouter, createParleyClient } from "@parley/client";
import { bridgeQueryCache } from "@parley/client/tanstack-query";
import { QueryClient } from "@tanstack/react-query";
import { createTRPCClient } from "@trpc/client";

/** The API's base URL: `?api=…`, else a Parley on this machine (`npm start` in the repository). */
const url = new URLSearchParams(location.search).get("api") ?? "http://localhost:3000";

/** Tokens (in a browser the refresh token is an HttpOnly cookie) and the realtime connection. */
export const parley = createParleyClient({ url });

export const queryClient = new QueryClient();

/** What TanStack Query calls procedures through: the SDK's link sends the access token and refreshes it. */
export const trpcClient = createTRPCClient<AppRouter>({ links: [parley.link()] });

// Live events change the cached rooms.list and messages.list in place, so those queries never need a refetch (the
// views give them `staleTime: Infinity`). Wired before `realtime.connect()`: it learns who "me" is from `ready`.
bridgeQueryCache({ realtime: parley.realtime, queryClient });
