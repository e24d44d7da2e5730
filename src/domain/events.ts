import type { Message } from "./messages/messages.schema.ts";
import type { MemberRole, Room } from "./rooms/rooms.schema.ts";
import type { UserPublic } from "./users/users.schema.ts";

/**
 * Events the domain publishes. Room events go to every member's sockets; user events to all of one user's sockets.
 * Every room event carries `roomId`; events that change room history carry its `seq`.
 */
export type RoomEvent =
  | { type: "message.created"; roomId: string; seq: number; message: Message }
  | { type: "typing"; roomId: string; userId: string; active: boolean }
  | { type: "member.joined"; roomId: string; member: { user: UserPublic; role: MemberRole } }
  | { type: "member.left"; roomId: string; userId: string; reason: "left" | "removed" }
  | { type: "room.updated"; roomId: string; room: Room };

export type UserEvent =
  /** The user's membership changed: sockets on every instance subscribe to or drop the room. */
  | { type: "room.membership"; roomId: string; membership: "joined" | "left" | "removed"; room: Room | null }
  /** A session (refresh family) was revoked: its sockets are closed. */
  | { type: "session.revoked"; sessionId: string }
  /** Someone the user shares a room with came online or went offline. */
  | { type: "presence"; userId: string; status: "online" | "offline"; lastSeenAt: string | null };

export type DomainEvent = RoomEvent | UserEvent;

/** How services announce what happened. Publishing happens after the commit it describes. */
export interface EventPublisher {
  toRoom(roomId: string, event: RoomEvent): Promise<void>;
  toUser(userId: string, event: UserEvent): Promise<void>;
}
