import type { QueryKey } from "@tanstack/query-core";

/**
 * Where @trpc/tanstack-react-query keeps a procedure's results in the QueryClient. `trpc.messages.list.queryKey(input)`
 * is `[["messages", "list"], { input, type: "query" }]` (`type: "infinite"` for infinite queries); with the
 * `keyPrefix` feature the prefix comes first: `[["parley"], ["messages", "list"], { … }]`.
 * TanStack matches a filter's key against the start of each key, objects by the fields the filter names, so
 * `[["messages", "list"], { input: { roomId } }]` finds every cached messages.list of one room, whatever its other
 * input (limit, before, after) and its type — what `trpc.messages.list.pathFilter()` finds, narrowed to a room.
 */
export type CachedProcedure =
  | "messages.list"
  | "messages.thread"
  | "rooms.list"
  | "rooms.get"
  | "rooms.members"
  | "rooms.mutes"
  | "rooms.invitations"
  | "friends.list"
  | "friends.requests";

export interface ProcedureKeys {
  /** Every cached result of the procedure; with `input`, those whose input has these fields. */
  filter(procedure: CachedProcedure, input?: Record<string, unknown>): QueryKey;
  /** The input a cached entry was fetched with (undefined for procedures without one). */
  inputOf(queryKey: QueryKey): unknown;
}

export function procedureKeys(keyPrefix: string | undefined): ProcedureKeys {
  const head: QueryKey = keyPrefix === undefined ? [] : [[keyPrefix]];
  return {
    filter: (procedure, input) => [...head, procedure.split("."), ...(input ? [{ input }] : [])],
    inputOf: (queryKey) => {
      const args = queryKey[head.length + 1];
      return typeof args === "object" && args !== null && "input" in args ? args.input : undefined;
    },
  };
}
