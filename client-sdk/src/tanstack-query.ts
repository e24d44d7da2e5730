/**
 * `@parley/client/tanstack-query`: realtime events into TanStack Query's cache, for apps that read Parley through
 * @trpc/tanstack-react-query (or any QueryClient holding tRPC-keyed results). A separate entry point, so that apps
 * without TanStack Query never load or type-check it; `@tanstack/query-core` is an optional peer dependency.
 */
export { bridgeQueryCache, type QueryCacheBridgeOptions } from "./query-cache/bridge.ts";
