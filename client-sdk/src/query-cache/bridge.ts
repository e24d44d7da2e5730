import type { Query, QueryClient } from "@tanstack/query-core";
import type { LoggedRoomEvent, LoggedRoomEventType, MyRoom, Room, RoomInvitation } from "../../../src/contract.ts";
import type { BlockedUsers } from "../realtime/blocked-users.ts";
import { isAboutMessages } from "../realtime/message-changes.ts";
import type { RealtimeClient } from "../realtime/realtime-client.ts";
import { LOGGED_EVENT_TYPES } from "../realtime/room-streams.ts";
import { type CachedMessages, changeMessages, listInputOf, type PageChange, roomEventInPages } from "./message-pages.ts";
import { invitationAdded, invitationRemoved, type InvitationsChange } from "./invitations.ts";
import {
  messageCreatedInList,
  roomHiddenInList,
  type RoomListChange,
  roomEventInList,
  roomUpdated,
  roomUpdatedInList,
  unreadUpdatedInList,
} from "./room-list.ts";
import { type CachedThread, roomEventInThread, type ThreadChange } from "./thread-pages.ts";
import { type CachedProcedure, procedureKeys } from "./trpc-keys.ts";

export interface QueryCacheBridgeOptions {
  /** `parley.realtime`: where the events come from. */
  realtime: Pick<RealtimeClient, "on">;
  /** The QueryClient given to QueryClientProvider and TRPCProvider. */
  queryClient: QueryClient;
  /** The `keyPrefix` given to TRPCProvider, if the app turned that feature on. */
  keyPrefix?: string;
  /**
   * `parley.realtime.blocked`: pushed messages of people I blocked are cached with `senderBlocked: true` and raise no
   * unread or mention counts, as the server reads them. Without it they are cached as pushed (unflagged, counted).
   */
  blocked?: BlockedUsers;
}

/** One change to the cached results of one procedure: which entries (by input fields), and what it does to each. */
interface CacheChange {
  procedure: CachedProcedure;
  input?: Record<string, unknown>;
  /** The entry's data changed (the same object when unchanged), or "stale": fetch it again. */
  apply(data: unknown, input: unknown): unknown;
}

// The cache holds under each procedure's keys what @trpc/tanstack-react-query stored there: that procedure's output.
const messagesOf = (roomId: string, change: PageChange): CacheChange => ({
  procedure: "messages.list",
  input: { roomId },
  apply: (data, input) => changeMessages(data as CachedMessages, listInputOf(input), change),
});
/** Every cached thread: the change itself looks at which root each holds. */
const threads = (change: ThreadChange): CacheChange => ({ procedure: "messages.thread", apply: (data) => change(data as CachedThread) });
const roomList = (change: RoomListChange): CacheChange => ({ procedure: "rooms.list", apply: (data) => change(data as MyRoom[]) });
const invitations = (change: InvitationsChange): CacheChange => ({
  procedure: "rooms.invitations",
  apply: (data) => change(data as RoomInvitation[]),
});
const roomOf = (room: Room): CacheChange => ({ procedure: "rooms.get", input: { roomId: room.id }, apply: (data) => roomUpdated(room)(data as Room) });

/**
 * Keeps the QueryClient's cached Parley results in step with the realtime events, so that live data needs no
 * refetch: every logged room event (a message, an edit, a deletion, a reaction, a pin, a join, a rename) changes
 * the cached `messages.list` pages that hold what it is about and moves the newest page's position; a new
 * main-timeline message joins that page (in seq order, once); thread replies join cached `messages.thread` pages
 * and update their root's summary; `rooms.list` takes each room's last message, unread and mention counts and
 * order; `unread.updated` (a read on any of my devices) updates the counts; `room.updated` renames; `room.hidden`
 * drops a direct room I hid from `rooms.list`; `invitation` and `invitation.removed` keep `rooms.invitations`;
 * `friend.updated` refetches `friends.list` and `friends.requests`. Membership
 * changes, `block.updated` (flags and counts of that person's messages change in every room), and anything the cache cannot take exactly (a seq gap, `resumed` without recovery, a reconnect),
 * invalidate what they touch instead.
 *
 * Works with the keys @trpc/tanstack-react-query gives each procedure (see trpc-keys.ts), and needs no React.
 * Call it once, before `realtime.connect()` (it learns who "me" is from `ready`); the returned function stops it.
 *
 * Each cached procedure has one change function per event (message-pages.ts, thread-pages.ts, room-list.ts), made
 * from the event alone. Changes must be idempotent: one made while a fetch of that entry was in flight is made
 * again to what the fetch brings back, which may or may not include it.
 */
export function bridgeQueryCache(options: QueryCacheBridgeOptions): () => void {
  const { realtime, queryClient } = options;
  const keys = procedureKeys(options.keyPrefix);
  const queryCache = queryClient.getQueryCache();
  /** Per query: changes made while it was fetching, made again when that fetch lands. */
  const landing = new Map<string, CacheChange[]>();
  /** From `ready`: my own messages are never unread. */
  let me: string | null = null;

  function change(cacheChange: CacheChange): void {
    for (const query of queryCache.findAll({ queryKey: keys.filter(cacheChange.procedure, cacheChange.input) })) {
      if (query.state.fetchStatus !== "idle") landing.set(query.queryHash, [...(landing.get(query.queryHash) ?? []), cacheChange]);
      write(query, cacheChange);
    }
  }

  function write(query: Query, cacheChange: CacheChange): void {
    // Nothing cached: a fetch starting from now on sees the change, which the server committed before announcing it.
    if (query.state.data === undefined) return;
    const next = cacheChange.apply(query.state.data, keys.inputOf(query.queryKey));
    if (next === "stale") void queryClient.invalidateQueries({ queryKey: query.queryKey, exact: true });
    else if (next !== query.state.data) queryClient.setQueryData(query.queryKey, next);
  }

  function invalidate(procedure: CachedProcedure, input?: Record<string, unknown>): void {
    void queryClient.invalidateQueries({ queryKey: keys.filter(procedure, input) });
  }

  const stopWatchingFetches = queryCache.subscribe((event) => {
    if (event.type === "removed") landing.delete(event.query.queryHash);
    if (event.type !== "updated" || event.query.state.fetchStatus !== "idle") return;
    const changes = landing.get(event.query.queryHash);
    if (!changes) return;
    landing.delete(event.query.queryHash);
    for (const cacheChange of changes) write(event.query, cacheChange);
  });

  /** The event with its message flagged `senderBlocked` when I blocked the sender (pushed events never carry it). */
  function flagged(event: LoggedRoomEvent): LoggedRoomEvent {
    if (!("message" in event) || !options.blocked?.has(event.message.sender.id) || event.message.senderBlocked) return event;
    return { ...event, message: { ...event.message, senderBlocked: true } };
  }

  /** Every logged event, in the room's seq order: messages.list, threads, rooms.list, and what else it touches. */
  function logged(pushed: LoggedRoomEvent): void {
    const event = flagged(pushed);
    change(messagesOf(event.roomId, roomEventInPages(event, me)));
    if (isAboutMessages(event)) change(threads(roomEventInThread(event, me)));
    change(roomList(event.type === "message.created" ? messageCreatedInList(event.message, me) : roomEventInList(event, me)));
    if (event.type === "room.updated") {
      change(roomList(roomUpdatedInList(event.room)));
      change(roomOf(event.room));
    }
    if (event.type === "member.joined" || event.type === "member.left" || event.type === "member.role") {
      invalidate("rooms.members", { roomId: event.roomId });
    }
    // Members show who is muted: both lists are fetched again.
    if (event.type === "member.muted" || event.type === "member.unmuted") {
      invalidate("rooms.members", { roomId: event.roomId });
      invalidate("rooms.mutes", { roomId: event.roomId });
    }
  }

  const stopListening = [
    // Subscribing makes the SDK read users.blocked (and again on each reconnect) and keep it current.
    ...(options.blocked ? [options.blocked.subscribe(() => {})] : []),
    realtime.on("ready", ({ userId }) => {
      // A reconnect: reads on my other devices while this one was away are not replayed (room messages are).
      if (me !== null) invalidate("rooms.list");
      me = userId;
    }),
    ...(Object.keys(LOGGED_EVENT_TYPES) as LoggedRoomEventType[]).map((type) => realtime.on(type, logged)),
    realtime.on("unread.updated", (event) => change(roomList(unreadUpdatedInList(event)))),
    realtime.on("room.hidden", ({ roomId }) => change(roomList(roomHiddenInList(roomId)))),
    realtime.on("invitation", ({ invitation }) => change(invitations(invitationAdded(invitation)))),
    realtime.on("invitation.removed", ({ invitationId }) => change(invitations(invitationRemoved(invitationId)))),
    realtime.on("resumed", ({ roomId, recovered }) => {
      // More was missed than the server replays: the cached pages and counts of the room have a hole.
      if (recovered) return;
      invalidate("messages.list", { roomId });
      invalidate("messages.thread"); // its input names the root, not the room
      invalidate("rooms.list");
    }),
    // A request came, went or was answered, or a friendship began or ended (on any of my devices or theirs).
    realtime.on("friend.updated", () => {
      invalidate("friends.list");
      invalidate("friends.requests");
    }),
    realtime.on("room.membership", ({ roomId }) => {
      invalidate("rooms.list");
      invalidate("rooms.members", { roomId });
    }),
    // I blocked or unblocked someone: their messages' senderBlocked flags and my unread counts change everywhere.
    realtime.on("block.updated", () => {
      invalidate("messages.list");
      invalidate("messages.thread");
      invalidate("rooms.list");
      // A block ends any friendship and request between the two.
      invalidate("friends.list");
      invalidate("friends.requests");
    }),
  ];

  return () => {
    for (const stop of stopListening) stop();
    stopWatchingFetches();
    landing.clear();
  };
}
