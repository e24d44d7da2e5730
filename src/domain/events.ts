import type { FriendState } from "./friends/friends.schema.ts";
import type { Message, ThreadSummary } from "./messages/messages.schema.ts";
import type { MemberRole, Room, RoomInvitation } from "./rooms/rooms.schema.ts";
import type { UserPublic } from "./users/users.schema.ts";

/** `away` is set by the client while connected; `offline` means no socket anywhere for the offline grace. */
export type PresenceStatus = "online" | "away" | "offline";

/**
 * A member's delivered/read watermark moved: every message up to `deliveredSeq` reached one of their devices,
 * every message up to `readSeq` was read. Sent to the room — or, for users with private receipts and in rooms
 * too large for receipt traffic, only to the member's own devices.
 */
export type ReceiptUpdated = { type: "receipt.updated"; roomId: string; userId: string; deliveredSeq?: number; readSeq?: number };

/**
 * The room's log: each of these took the room's next `seq` in the transaction that made it, is stored
 * (room_events), and is replayed on resume exactly like a message. What it carries is the current state of what it
 * is about (the message as it is now, the member's profile, the room), so applying a room's events in seq order
 * always ends at the room as it is — whether they arrive live or are replayed later.
 */
export type LoggedRoomEvent =
  /** For a thread reply, `root` is its root's thread summary after it. */
  | { type: "message.created"; roomId: string; seq: number; message: Message; root?: ThreadRoot }
  /** The message after the edit (reactions with `me: false`: keep what you know). */
  | { type: "message.edited"; roomId: string; seq: number; messageId: string; message: Message }
  /** The tombstone; for a thread reply, `root` is its root's summary without it. */
  | { type: "message.deleted"; roomId: string; seq: number; messageId: string; message: Message; root?: ThreadRoot }
  /** `count`: how many reacted with this emoji after the change (0 removes the entry). */
  | { type: "reaction.added"; roomId: string; seq: number; messageId: string; emoji: string; userId: string; count: number }
  | { type: "reaction.removed"; roomId: string; seq: number; messageId: string; emoji: string; userId: string; count: number }
  | { type: "message.pinned"; roomId: string; seq: number; messageId: string; pinned: { at: string; byUserId: string } }
  | { type: "message.unpinned"; roomId: string; seq: number; messageId: string; byUserId: string }
  | { type: "member.joined"; roomId: string; seq: number; member: { user: UserPublic; role: MemberRole } }
  /** "removed": kicked (rooms.kick); "banned": removed by rooms.ban and kept out until the ban lifts. */
  | { type: "member.left"; roomId: string; seq: number; userId: string; reason: MemberLeftReason }
  /** A member's role is now `role`, given by `byUserId` (rooms.setRole, rooms.transferOwnership). */
  | { type: "member.role"; roomId: string; seq: number; userId: string; role: MemberRole; byUserId: string }
  | { type: "room.updated"; roomId: string; seq: number; room: Room }
  /** A member may read but not send, react or type until `until` (null: until unmuted), by `byUserId` (rooms.mute). */
  | { type: "member.muted"; roomId: string; seq: number; userId: string; until: string | null; byUserId: string }
  /** The member's mute was lifted by `byUserId` (rooms.unmute). A mute that expires by itself is no event. */
  | { type: "member.unmuted"; roomId: string; seq: number; userId: string; byUserId: string };
export type LoggedRoomEventType = LoggedRoomEvent["type"];

export type MemberLeftReason = "left" | "removed" | "banned";

/** A thread's root and its summary after a reply came or went. */
export interface ThreadRoot {
  messageId: string;
  thread: ThreadSummary | null;
}

/**
 * Events published to a room's topic, reaching every member's sockets on every instance. Every room event carries
 * `roomId`; the logged ones carry their `seq`; typing, presence and receipts are ephemeral (no seq, never replayed).
 */
export type RoomEvent =
  | LoggedRoomEvent
  | { type: "typing"; roomId: string; userId: string; active: boolean }
  /**
   * A member came online, went away or went offline (once per user over all devices and instances). Sent to each
   * room the subject belongs to, so exactly the people who share a room with them hear it (once per shared room;
   * the SDK folds these into one state per user).
   */
  | { type: "presence"; roomId: string; userId: string; status: PresenceStatus; lastSeenAt: string | null }
  | ReceiptUpdated;

/** Events published to one user's topic, reaching all of that user's sockets on every instance. */
export type UserEvent =
  /**
   * The user's membership changed: their sockets on every instance attach to or drop the room. "removed": a
   * moderator removed them (rooms.kick); "banned": they were banned (rooms.ban), so they cannot come back.
   */
  | { type: "room.membership"; roomId: string; membership: "joined" | "left" | "removed" | "banned"; room: Room | null }
  /** The user read on one device: all of their devices update the room's unread count. */
  | { type: "unread.updated"; roomId: string; readSeq: number; unread: number; unreadMentions: number }
  /** Someone invited the user (rooms.invite, rooms.createGroup): it waits in `rooms.invitations` until answered. */
  | { type: "invitation"; invitation: RoomInvitation }
  /** An invitation is gone (accepted or declined on one of the user's devices, or cancelled): every device drops it. */
  | { type: "invitation.removed"; invitationId: string; reason: "accepted" | "declined" | "cancelled" }
  /** The user hid a direct room (rooms.leave): their devices drop it from their lists until its next message. */
  | { type: "room.hidden"; roomId: string }
  /** Where the user now stands with `userId` (friends.*), from the receiving user's side. */
  | { type: "friend.updated"; userId: string; state: FriendState }
  /**
   * I blocked (`blocked: true`) or unblocked `userId` (users.block, users.unblock) on one of my devices: all of them
   * update their blocked set (the SDK flags that user's messages for me). The realtime layer also re-reads which
   * presence and typing it hides from my sockets.
   */
  | { type: "block.updated"; userId: string; blocked: boolean }
  | ReceiptUpdated;

/** Instructions for the realtime layer itself; never forwarded to clients. */
export type ControlEvent =
  /** A session (refresh-token family) was revoked: its sockets are closed. */
  | { type: "session.revoked"; sessionId: string }
  /**
   * A block involving the user began or ended (sent to the blocked side, which is never told who blocked them): the
   * realtime layer re-reads whose presence and typing it hides from the user's sockets. Not forwarded.
   */
  | { type: "blocks.changed" };

export type DomainEvent = RoomEvent | UserEvent | ControlEvent;

/**
 * How services announce what happened, always after the commit it describes.
 * Rejects when the event could not be handed to the bus; the caller decides whether that fails its operation
 * (a committed message does not: subscribers fill the gap from the database).
 */
export interface EventPublisher {
  toRoom(roomId: string, event: RoomEvent): Promise<void>;
  toUser(userId: string, event: UserEvent | ControlEvent): Promise<void>;
  /** To every instance (this one included), for what each must know about: a revoked session, say. */
  toInstances(event: ControlEvent): Promise<void>;
}
