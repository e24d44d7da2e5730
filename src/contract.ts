/**
 * The typed contract clients compile against: every procedure (AppRouter) and every socket frame and event.
 * `client-sdk/` imports these with `import type` — types only, nothing copied — and ships them in its own
 * declaration bundle, so this module's emitted declarations must name nothing but `@trpc/server` and plain types:
 *
 * - The server's router type carries tRPC's root config, whose `ctx` is the request context (services, logger,
 *   metrics, and through them Drizzle, ioredis, prom-client, Hono). A client needs none of it — tRPC's client reads
 *   only the procedures, the error shape and the transformer — so `AppRouter` is that router with `ctx: object`.
 * - `ClientFrame` is inferred from its zod schema; clients get the plain union, not zod's types.
 *
 * Both are computed as the return type of `clientContract()`, which is never called: `tsc` writes an inferred
 * type out in full when it emits declarations, where a type alias would be emitted as written (`typeof appRouter`,
 * `z.infer<…>`) and drag the server and zod into every client. `test/package/consumer.test.ts` proves the result.
 */
import type { AnyTRPCRootTypes, inferRouterInputs, inferRouterOutputs, TRPCBuiltRouter, TRPCRouterRecord } from "@trpc/server";
import { ClientFrame as ClientFrameSchema } from "./realtime/protocol.ts";
import { appRouter } from "./transport/trpc/app-router.ts";

/** Every procedure, as `createTRPCClient<AppRouter>` and `@trpc/tanstack-react-query` want it. */
export type AppRouter = ReturnType<typeof clientContract>["router"];
/** What each procedure takes: `RouterInputs["rooms"]["create"]`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** What each procedure answers: `RouterOutputs["messages"]["list"]`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
/** Everything a client may send on the socket. */
export type ClientFrame = ReturnType<typeof clientContract>["clientFrame"];

export type { ErrorCode, ServerEvent, ServerEventType, TransportEvent } from "./realtime/protocol.ts";
import type { CloseCode } from "./realtime/protocol.ts";

/** The close codes the server uses, as literal types; the SDK mirrors the values and the compiler checks them. */
export type CloseCodes = typeof CloseCode;
// Named so that bundled declarations can share it between the SDK's entry points (a type, not the value).
export type { CloseCode };
export type { ControlEvent, LoggedRoomEvent, LoggedRoomEventType, MemberLeftReason, PresenceStatus, ReceiptUpdated, RoomEvent, ThreadRoot, UserEvent } from "./domain/events.ts";
export type { ResumePosition, ResumePositions, RoomEventPage } from "./domain/room-log/room-log.schema.ts";
export type { SignedIn } from "./domain/auth/auth.router.ts";
export type { SessionSummary } from "./domain/auth/auth.schema.ts";
export type {
  Attachment,
  Message,
  MessageEdits,
  MessageKind,
  MessagePage,
  ReactionCount,
  Reactors,
  ReplyQuote,
  ThreadPage,
  ThreadSummary,
} from "./domain/messages/messages.schema.ts";
export type { CreatedUpload, FileInfo, FilePurpose, FileUrl } from "./domain/files/files.schema.ts";
export type { SearchHit, SearchPage, SearchSnippet } from "./domain/search/search.schema.ts";
export type { PresenceView } from "./domain/presence/presence.schema.ts";
export type { MemberReceipt, MessageStatus, ReadState } from "./domain/receipts/receipts.schema.ts";
export type { ReportResolution, RoomAuditAction, RoomAuditEntry, RoomAuditRecord, RoomSettingsChanges, SettingChange } from "./domain/rooms/room-audit.ts";
export type { RoomRestriction } from "./domain/rooms/room-restrictions.ts";
export type { Report, ReportedMessage, ReportReason, ReportStatus } from "./domain/moderation/moderation.schema.ts";
export type {
  CreatedInviteLink,
  InviteLink,
  LinkedRoom,
  MemberRole,
  MyRoom,
  Page,
  Room,
  RoomInvitation,
  RoomKind,
  RoomMember,
  RoomSettings,
} from "./domain/rooms/rooms.schema.ts";
export type { BlockedUser, DmPolicy, UserProfile, UserPublic, UserPublicProfile, UserStatus } from "./domain/users/users.schema.ts";
export type { Friend, FriendPage, FriendRequest, FriendRequests, FriendState } from "./domain/friends/friends.schema.ts";
export type { DomainErrorReason } from "./lib/domain-error.ts";

// Never called (see above): it exists for its inferred return type, so it is "used only as a type" by design.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
function clientContract() {
  return { router: withoutContext(appRouter), clientFrame: plain(ClientFrameSchema.parse(null)) };
}

/**
 * The router's type with the root config's `ctx` erased to `object`. In a built router's record a nested router is
 * its own record of procedures (its root config is dropped), so writing the record out one level deep reaches
 * every procedure of routers nested one level, as all of ours are; a router nested deeper would name its context
 * again, and client-sdk/build.mjs would refuse the bundle that then imports the server's types.
 */
function withoutContext<TRoot extends AnyTRPCRootTypes, TRecord extends TRPCRouterRecord>(
  router: TRPCBuiltRouter<TRoot, TRecord>,
): TRPCBuiltRouter<
  { ctx: object; meta: TRoot["meta"]; errorShape: TRoot["errorShape"]; transformer: TRoot["transformer"] },
  { [K in keyof TRecord]: TRecord[K] }
> {
  return router as never;
}

/** The same type, unaliased: a homomorphic mapped type over each member of the union, which `tsc` writes out. */
function plain<T>(value: T): { [K in keyof T]: T[K] } {
  return value;
}
