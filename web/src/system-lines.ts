import type { LoggedRoomEvent, Message } from "@parley/client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { parley } from "./parley.ts";
import { type SystemLine, systemLineOf } from "./timeline.ts";
import { useTRPC } from "./trpc.ts";

/** Room events that are system lines; when one arrives live the room log is read again. */
const LIVE: readonly ("member.joined" | "member.left" | "member.role" | "member.muted" | "member.unmuted" | "room.updated")[] = [
  "member.joined",
  "member.left",
  "member.role",
  "member.muted",
  "member.unmuted",
  "room.updated",
];

/**
 * The room's joins, leaves, kicks, bans, roles, mutes and setting changes from its event log (`rooms.events`), from
 * just before the first message shown; names come from the log's own joins, the members and the messages' senders.
 */
export function useSystemLines(roomId: string, messages: readonly Message[], fromSeq: number): SystemLine[] {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const log = useQuery(trpc.rooms.events.queryOptions({ roomId, after: Math.max(fromSeq - 1, 0), limit: 500 }, { staleTime: Infinity, placeholderData: (previous) => previous }));
  const members = useQuery(trpc.rooms.members.queryOptions({ roomId, limit: 200 }, { staleTime: Infinity }));
  useEffect(() => {
    const reread = (event: { roomId: string }): void => {
      if (event.roomId === roomId) void queryClient.invalidateQueries(trpc.rooms.events.pathFilter());
    };
    const offs = LIVE.map((type) => parley.realtime.on(type, reread));
    return () => offs.forEach((off) => off());
  }, [roomId, queryClient, trpc]);

  const events: readonly LoggedRoomEvent[] = log.data?.events ?? [];
  const names = new Map<string, string>();
  for (const message of messages) names.set(message.sender.id, message.sender.displayName || message.sender.username);
  for (const { user } of members.data?.items ?? []) names.set(user.id, user.displayName || user.username);
  for (const event of events) if (event.type === "member.joined") names.set(event.member.user.id, event.member.user.displayName || event.member.user.username);
  const nameOf = (userId: string): string => names.get(userId) ?? "Someone";
  return events.flatMap((event) => systemLineOf(event, nameOf) ?? []);
}
