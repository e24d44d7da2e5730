import type { LoggedRoomEvent, Message, MyRoom, Room, ServerEvent } from "../../../src/contract.ts";
import { messageChangeOf, onMainTimeline } from "../realtime/message-changes.ts";

/**
 * Changes to the cached `rooms.list` (the caller's rooms, most recently active first). Like page changes they are
 * idempotent, and "stale" means the list cannot take the change exactly and must be fetched again.
 */
export type RoomListChange = (rooms: MyRoom[]) => MyRoom[] | "stale";

type UnreadUpdated = Extract<ServerEvent, { type: "unread.updated" }>;

/** Whether a message counts as a mention of me: someone else's, not deleted, naming me or the whole room. */
function mentionsMe(message: Message, me: string): boolean {
  return message.sender.id !== me && message.deletedAt === null && (message.mentions.includes(me) || message.mentionsRoom);
}

/**
 * A new message moves the room to the top, as the server orders it (any message, a thread reply too); a
 * main-timeline one becomes its last message and, if someone else's and past the read watermark, is unread; one
 * that mentions me (in a thread too) adds to `unreadMentions`. `me` null (not yet known) or the room missing (a
 * list from before a join) make the list stale; so does a message beyond `lastSeq + 1`, whose predecessors the
 * counts have not seen.
 */
export function messageCreatedInList(message: Message, me: string | null): RoomListChange {
  return (rooms) => {
    const room = rooms.find((candidate) => candidate.id === message.roomId);
    if (!room || me === null) return "stale";
    if (message.seq <= room.lastSeq) return rooms; // counted already
    if (message.seq !== room.lastSeq + 1) return "stale";
    // Someone I blocked raises no counts (the server leaves them out too).
    const unseen = message.sender.id !== me && message.seq > room.readSeq && !message.senderBlocked;
    const onMain = onMainTimeline(message);
    const updated: MyRoom = {
      ...room,
      lastSeq: message.seq,
      lastMessage: onMain ? message : room.lastMessage,
      unread: room.unread + (unseen && onMain ? 1 : 0),
      unreadMentions: room.unreadMentions + (unseen && mentionsMe(message, me) ? 1 : 0),
    };
    return [updated, ...rooms.filter((candidate) => candidate !== room)];
  };
}

/**
 * Any other logged event of a listed room moves its `lastSeq` (so the next message still continues the counts
 * exactly), changes its last message as it changes messages, my `role` when the event is about mine, and for an
 * edit or deletion of an unread message, the counts: a deleted message is no longer unread, and an edit may add or
 * remove a mention of me. Where the mention count depends on what the message said before and the list cannot tell
 * (it is not the last message and the room has unread mentions), the list is stale.
 */
export function roomEventInList(event: Exclude<LoggedRoomEvent, { type: "message.created" }>, me: string | null): RoomListChange {
  const change = messageChangeOf(event, me);
  return (rooms) => {
    const room = rooms.find((candidate) => candidate.id === event.roomId);
    if (!room || event.seq <= room.lastSeq) return rooms; // a list from before a join (membership refetches it), or counted already
    if (event.seq !== room.lastSeq + 1) return "stale";
    const counts = event.type === "message.edited" || event.type === "message.deleted" ? countsAfter(room, event.message, me) : {};
    if (counts === "stale") return "stale";
    const lastMessage = room.lastMessage && change ? change(room.lastMessage) : room.lastMessage;
    const role = event.type === "member.role" && event.userId === me ? { role: event.role } : {};
    const updated: MyRoom = { ...room, ...counts, ...role, lastSeq: event.seq, lastMessage };
    return rooms.map((candidate) => (candidate === room ? updated : candidate));
  };
}

function countsAfter(room: MyRoom, message: Message, me: string | null): Partial<Pick<MyRoom, "unread" | "unreadMentions">> | "stale" {
  if (me === null) return "stale";
  if (message.sender.id === me || message.seq <= room.readSeq || message.senderBlocked) return {}; // never counted
  const deleted = message.deletedAt !== null;
  const unread = Math.max(0, room.unread - (deleted && onMainTimeline(message) ? 1 : 0));
  const before = room.lastMessage?.id === message.id ? room.lastMessage : null;
  const now = mentionsMe(message, me) ? 1 : 0;
  // Without the message as it was: exact only when nothing unread mentioned me, so it did not either.
  if (!before && room.unreadMentions > 0) return "stale";
  const was = before && mentionsMe(before, me) ? 1 : 0;
  return { unread, unreadMentions: Math.max(0, room.unreadMentions - was + now) };
}

/**
 * I read on some device. The counts are taken as they are only when they are exact here: nothing unread, and
 * nothing in the list beyond the read watermark. Otherwise the event and the messages in the list may have counted
 * the same messages (events of the room and of the user are not ordered with each other), so the list is fetched
 * again.
 */
export function unreadUpdatedInList(event: UnreadUpdated): RoomListChange {
  return (rooms) => {
    const room = rooms.find((candidate) => candidate.id === event.roomId);
    if (!room || event.readSeq <= room.readSeq) return rooms; // a list from before the join, or older news
    if (event.unread !== 0 || event.readSeq < room.lastSeq) return "stale";
    const updated: MyRoom = { ...room, readSeq: event.readSeq, unread: 0, unreadMentions: event.unreadMentions };
    return rooms.map((candidate) => (candidate === room ? updated : candidate));
  };
}

/**
 * I hid a direct room (on any device): it leaves the list until its next message, whose arrival finds it missing and
 * fetches the list again (the server lists it again from then).
 */
export function roomHiddenInList(roomId: string): RoomListChange {
  return (rooms) => (rooms.some((room) => room.id === roomId) ? rooms.filter((room) => room.id !== roomId) : rooms);
}

/** A renamed, re-described or re-pictured room (or new settings); its position and message counts are the message events' business. */
export function roomUpdatedInList(room: Room): RoomListChange {
  return (rooms) => {
    const cached = rooms.find((candidate) => candidate.id === room.id);
    const updated = cached && roomUpdated(room)(cached);
    return updated && updated !== cached ? rooms.map((candidate) => (candidate === cached ? updated : candidate)) : rooms;
  };
}

/** The same for a cached `rooms.get` (or any cached room). */
export function roomUpdated(room: Room): <Cached extends Room>(cached: Cached) => Cached {
  return (cached) =>
    cached.name === room.name && cached.description === room.description && cached.avatarFileId === room.avatarFileId && sameSettings(cached.settings, room.settings)
      ? cached
      : { ...cached, name: room.name, description: room.description, avatarFileId: room.avatarFileId, settings: room.settings };
}

function sameSettings(a: Room["settings"] | undefined, b: Room["settings"]): boolean {
  return a !== undefined && (Object.keys(b) as (keyof Room["settings"])[]).every((key) => a[key] === b[key]);
}
