/**
 * The typed contract clients compile against: every procedure (AppRouter) and every socket frame and event.
 * `client-sdk/` imports these with `import type` — types only, nothing copied.
 */
export type { AppRouter } from "./transport/trpc/app-router.ts";
export type { ClientFrame, ErrorCode, ServerEvent, ServerEventType, TransportEvent } from "./realtime/protocol.ts";
import type { CloseCode } from "./realtime/protocol.ts";

/** The close codes the server uses, as literal types; the SDK mirrors the values and the compiler checks them. */
export type CloseCodes = typeof CloseCode;
export type { ControlEvent, PresenceStatus, RoomEvent, UserEvent } from "./domain/events.ts";
export type { Message, MessagePage } from "./domain/messages/messages.schema.ts";
export type { MemberRole, MyRoom, Room, RoomKind, RoomMember } from "./domain/rooms/rooms.schema.ts";
export type { UserProfile, UserPublic } from "./domain/users/users.schema.ts";
