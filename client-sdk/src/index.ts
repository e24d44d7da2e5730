export { createParleyClient } from "./parley-client.ts";
export type { Credentials, ParleyClient, ParleyClientOptions, Registration } from "./parley-client.ts";
export type { ParleyApi } from "./rpc.ts";
export type { SessionTokens } from "./session.ts";
export type {
  RealtimeClient,
  RealtimeEvents,
  RealtimeState,
  StateChange,
  WebSocketConstructor,
  WebSocketLike,
} from "./realtime/realtime-client.ts";
export { ConnectionClosedError, SendRejectedError } from "./realtime/outbox.ts";
export type { NetworkEnvironment } from "./realtime/network-watch.ts";
export { fullJitterDelay, type BackoffOptions } from "./realtime/backoff.ts";
export type { AppRouter, Message, MyRoom, Room, RoomMember, ServerEvent, UserProfile, UserPublic } from "../../src/contract.ts";
