export { createParleyClient } from "./parley-client.ts";
export type { Credentials, ParleyClient, ParleyClientOptions, Registration } from "./parley-client.ts";
export type { ParleyApi } from "./rpc.ts";
export type { SessionTokens } from "./session.ts";
export type {
  RealtimeClient,
  RealtimeEvents,
  RealtimeState,
  SendOptions,
  SocketHandler,
  StateChange,
  WebSocketConstructor,
  WebSocketLike,
} from "./realtime/realtime-client.ts";
export { ConnectionClosedError, SendRejectedError } from "./realtime/outbox.ts";
export { createRoomView } from "./realtime/room-view.ts";
export { groupName } from "./group-name.ts";
export type { ApplyOutcome, BlockedSenders, LoadOutcome, MemberMute, RoomActivity, RoomView, RoomViewOptions, RoomViewState } from "./realtime/room-view.ts";
export type { BlockedUsers } from "./realtime/blocked-users.ts";
export type { LiveRoomView, LiveRoomViewOptions, LiveRoomViewState } from "./realtime/live-room-view.ts";
export type { NetworkEnvironment } from "./realtime/network-watch.ts";
export { fullJitterDelay, type BackoffOptions } from "./realtime/backoff.ts";
// The server's contract, shipped in this package's declarations (build.mjs): calls, socket frames and events.
export type {
  AppRouter,
  BlockedUser,
  ClientFrame,
  CloseCode,
  CloseCodes,
  ControlEvent,
  CreatedInviteLink,
  DmPolicy,
  DomainErrorReason,
  ErrorCode,
  Friend,
  FriendPage,
  FriendRequest,
  FriendRequests,
  FriendState,
  InviteLink,
  LoggedRoomEvent,
  LoggedRoomEventType,
  MemberReceipt,
  MemberRole,
  Message,
  MessageEdits,
  MessageKind,
  MessagePage,
  MessageStatus,
  MyRoom,
  Page,
  PresenceStatus,
  PresenceView,
  ReactionCount,
  Reactors,
  ReadState,
  ReceiptUpdated,
  ReplyQuote,
  ResumePosition,
  ResumePositions,
  Room,
  RoomEvent,
  RoomEventPage,
  RoomInvitation,
  RoomKind,
  RoomMember,
  RouterInputs,
  RouterOutputs,
  SearchHit,
  SearchPage,
  SearchSnippet,
  ServerEvent,
  ServerEventType,
  SignedIn,
  ThreadPage,
  ThreadRoot,
  ThreadSummary,
  TransportEvent,
  UserEvent,
  UserProfile,
  UserPublic,
  UserPublicProfile,
  UserStatus,
} from "../../src/contract.ts";
