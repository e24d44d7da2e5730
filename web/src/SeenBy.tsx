import type { Message } from "@parley/client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { parley } from "./parley.ts";
import { seenByText } from "./timeline.ts";
import { useTRPC } from "./trpc.ts";

/**
 * "Seen by ann, ben" under my last message: the members whose read watermark reached it (`messages.status`; the
 * server leaves out those with private receipts). A `receipt.updated` that moves someone's read watermark past it
 * reads the status again.
 */
export function SeenBy({ message }: { message: Message }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { roomId, seq } = message;
  const status = useQuery(trpc.messages.status.queryOptions({ roomId, seq }, { staleTime: Infinity }));
  const members = useQuery(trpc.rooms.members.queryOptions({ roomId, limit: 200 }, { staleTime: Infinity }));
  useEffect(
    () =>
      parley.realtime.on("receipt.updated", (event) => {
        if (event.roomId === roomId && event.readSeq !== undefined && event.readSeq >= seq) void queryClient.invalidateQueries(trpc.messages.status.queryFilter({ roomId, seq }));
      }),
    [roomId, seq, queryClient, trpc],
  );
  const nameOf = new Map((members.data?.items ?? []).map(({ user }) => [user.id, user.displayName || user.username]));
  const readers = (status.data?.members ?? []).filter((member) => member.readAt !== null).map((member) => member.userId);
  const names = readers.flatMap((id) => nameOf.get(id) ?? []);
  // A reader missing from a complete member list has left (or was banned) since the status was read: not shown. In a
  // room bigger than the page held, the rest are counted.
  const unnamed = members.data?.nextCursor ? readers.length - names.length : 0;
  const text = seenByText(names, 3, unnamed);
  if (!text) return null;
  return <bdi data-testid="seen-by">{text}</bdi>;
}
