import type { PresenceStatus } from "@parley/client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { parley } from "./parley.ts";
import { useTRPC } from "./trpc.ts";

/**
 * Presence of the people shown: `presence.get` once for them (at most 200), then every `presence` event about one
 * of them updates that answer in place (events come per shared room; any of them will do).
 */
export function usePresence(userIds: readonly string[]): (userId: string) => PresenceStatus {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const ids = [...new Set(userIds)].slice(0, 200).sort();
  const idsKey = ids.join(",");
  const presence = useQuery(trpc.presence.get.queryOptions({ userIds: ids }, { enabled: ids.length > 0, staleTime: Infinity }));

  useEffect(() => {
    if (!idsKey) return;
    const key = trpc.presence.get.queryKey({ userIds: idsKey.split(",") });
    return parley.realtime.on("presence", (event) => {
      queryClient.setQueryData(key, (current) =>
        current?.map((entry) => (entry.userId === event.userId ? { ...entry, status: event.status, lastSeenAt: event.lastSeenAt } : entry)),
      );
    });
  }, [idsKey, queryClient, trpc]);

  // A reconnect may have missed changes: read again once the socket is back.
  useEffect(() => {
    if (!idsKey) return;
    return parley.realtime.on("ready", () => void queryClient.invalidateQueries(trpc.presence.get.queryFilter({ userIds: idsKey.split(",") })));
  }, [idsKey, queryClient, trpc]);

  return (userId) => presence.data?.find((entry) => entry.userId === userId)?.status ?? "offline";
}
