import type { Message, MyRoom, Room, ServerEvent } from "../../../src/contract.ts";

/**
 * Changes to the cached `rooms.list` (the caller's rooms, most recently active first). Like page changes they are
 * idempotent, and "stale" means the list cannot take the change exactly and must be fetched again.
 */
export type RoomListChange = (rooms: MyRoom[]) => MyRoom[] | "stale";

type UnreadUpdated = Extract<ServerEvent, { type: "unread.updated" }>;

/**
 * The room's last message, its unread count (+1 for a message of someone else's past the read watermark), and the
 * room to the top, as the server orders it. `me` null (not yet known) or the room missing (a list from before a
 * join) make the list stale; so does a message beyond `lastSeq + 1`, whose predecessors the count has not seen.
 */
export function messageCreatedInList(message: Message, me: string | null): RoomListChange {
  return (rooms) => {
    const room = rooms.find((candidate) => candidate.id === message.roomId);
    if (!room || me === null) return "stale";
    if (message.seq <= room.lastSeq) return rooms; // counted already
    if (message.seq !== room.lastSeq + 1) return "stale";
    const unseen = message.sender.id !== me && message.seq > room.readSeq;
    const updated: MyRoom = { ...room, lastSeq: message.seq, lastMessage: message, unread: room.unread + (unseen ? 1 : 0) };
    return [updated, ...rooms.filter((candidate) => candidate !== room)];
  };
}

/**
 * I read on some device. The count is taken as is only when it is exact here: nothing unread, and nothing in the list
 * beyond the read watermark. Otherwise the event and the messages in the list may have counted the same messages
 * (events of the room and of the user are not ordered with each other), so the list is fetched again.
 */
export function unreadUpdatedInList(event: UnreadUpdated): RoomListChange {
  return (rooms) => {
    const room = rooms.find((candidate) => candidate.id === event.roomId);
    if (!room || event.readSeq <= room.readSeq) return rooms; // a list from before the join, or older news
    if (event.unread !== 0 || event.readSeq < room.lastSeq) return "stale";
    const updated: MyRoom = { ...room, readSeq: event.readSeq, unread: 0 };
    return rooms.map((candidate) => (candidate === room ? updated : candidate));
  };
}

/** A renamed or re-described room; its position and message counts are the message events' business. */
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
    cached.name === room.name && cached.description === room.description ? cached : { ...cached, name: room.name, description: room.description };
}
