import type { FilesConfig, RateLimits } from "../config.ts";
import type { Database } from "../infra/db/database.ts";
import type { KeyValueStore } from "../infra/kv/kv.ts";
import type { PresenceStore } from "../infra/presence/presence-store.ts";
import type { RateLimiter } from "../infra/rate-limit/rate-limit.ts";
import type { RecentEvents } from "../infra/recent-events/recent-events.ts";
import type { FileStorage } from "../infra/storage/storage.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { type AuthService, createAuthService } from "./auth/auth.service.ts";
import type { EventPublisher } from "./events.ts";
import { createFileService, type FileService } from "./files/files.service.ts";
import { createFriendService, type FriendService } from "./friends/friends.service.ts";
import { createMessageChanges, type MessageChanges } from "./messages/message-changes.ts";
import { createModerationService, type ModerationService } from "./moderation/moderation.service.ts";
import { createMessageService, type MessageService } from "./messages/messages.service.ts";
import { createPresenceService, type PresenceService, type PresenceTiming } from "./presence/presence.service.ts";
import { createReceiptService, type ReceiptService } from "./receipts/receipts.service.ts";
import { createRoomLog, type RoomLog } from "./room-log/room-log.ts";
import { createAccountDeparture } from "./rooms/account-departure.ts";
import { createRoomService, type RoomService } from "./rooms/rooms.service.ts";
import { createSearchService, type SearchService } from "./search/search.service.ts";
import { type BlockService, createBlockService } from "./users/blocks.service.ts";
import { createUserService, type UserService } from "./users/users.service.ts";

/** Everything the transports may call. Built once by the composition root (src/deps.ts) and by tests. */
export interface Services {
  auth: AuthService;
  users: UserService;
  friends: FriendService;
  /** users.block, unblock, blocked; and whose presence and typing a user's sockets must not get. */
  blocks: BlockService;
  rooms: RoomService;
  messages: MessageService;
  /** Full-text search over the messages of the caller's rooms (messages.search). */
  search: SearchService;
  messageChanges: MessageChanges;
  presence: PresenceService;
  receipts: ReceiptService;
  /** Reports about messages and people, and their resolution by room moderators. */
  moderation: ModerationService;
  /** Each room's event log: appended to by the services above, read back by the realtime layer and rooms.events. */
  roomLog: RoomLog;
  /** Uploads (presigned, straight to storage), their checks, and signed download URLs. */
  files: FileService;
}

export interface ServiceDeps {
  database: Database;
  /** Short-lived keys (socket tickets): Redis when configured, else process memory. Sessions are database tables. */
  kv: KeyValueStore;
  rateLimiter: RateLimiter;
  /** Each room's newest logged events, read before Postgres for resume and gap filling. */
  recentEvents: RecentEvents;
  events: EventPublisher;
  clock: Clock;
  logger: Logger;
  jwt: { secret: string; issuer: string; audience: string; accessTokenTtlSeconds: number };
  refreshTokenTtlSeconds: number;
  rateLimits: RateLimits;
  /** Members per room and rooms per user. */
  limits: { roomMaxMembers: number; userMaxRooms: number };
  metrics: Metrics;
  /** REQUIRE_VERIFIED_EMAIL (default false): only users with a verified address may send messages. */
  requireVerifiedEmail?: boolean;
  /** MESSAGE_EDIT_WINDOW_SECONDS; 0: no limit. */
  messageEditWindowSeconds: number;
  /** Rooms larger than this announce receipts only to the reader's own devices. */
  receiptEventsMaxMembers: number;
  /** Presence across instances: the store, this instance's id (its lease) and the timings. */
  presence: { store: PresenceStore; instanceId: string; timing: PresenceTiming; eventsMaxMembers: number };
  /** Where uploads go (local disk or S3) and the FILES_* limits. */
  files: { storage: FileStorage; settings: Pick<FilesConfig, "allowedTypes" | "maxBytes" | "userQuotaBytes"> };
}

export function createServices(deps: ServiceDeps): Services {
  const { database, kv, rateLimiter, events, clock, logger } = deps;
  const roomLog = createRoomLog({ database, events, recentEvents: deps.recentEvents, logger: logger.child({ service: "room-log" }) });
  const rooms = createRoomService({
    database,
    events,
    log: roomLog,
    clock,
    logger: logger.child({ service: "rooms" }),
    rateLimiter,
    rates: {
      create: deps.rateLimits.roomCreatePerUser,
      invite: deps.rateLimits.invitePerUser,
      openDirect: deps.rateLimits.openDirectPerUser,
      joinByLink: deps.rateLimits.joinByLinkPerUser,
      roleChanges: deps.rateLimits.roleChangesPerUser,
      moderation: deps.rateLimits.moderationPerUser,
    },
    limits: deps.limits,
  });
  const messageChanges = createMessageChanges({
    database,
    log: roomLog,
    rateLimiter,
    clock,
    changeRate: deps.rateLimits.changePerUser,
    editWindowSeconds: deps.messageEditWindowSeconds,
  });
  const departure = createAccountDeparture({ database, log: roomLog, logger: logger.child({ service: "account-departure" }) });
  return {
    roomLog,
    files: createFileService({
      database,
      storage: deps.files.storage,
      clock,
      rateLimiter,
      uploadRate: deps.rateLimits.uploadPerUser,
      settings: deps.files.settings,
    }),
    auth: createAuthService({
      leaveEveryRoom: (userId) => departure.leaveEveryRoom(userId),
      database,
      ticketKv: kv,
      rateLimiter,
      events,
      clock,
      logger: logger.child({ service: "auth" }),
      jwt: deps.jwt,
      refreshTokenTtlSeconds: deps.refreshTokenTtlSeconds,
      rateLimits: {
        authPerIp: deps.rateLimits.authPerIp,
        authPerAccountIp: deps.rateLimits.authPerAccountIp,
        authPerAccount: deps.rateLimits.authPerAccount,
        wsTicketPerUser: deps.rateLimits.wsTicketPerUser,
        emailPerUser: deps.rateLimits.emailPerUser,
        passwordResetPerEmail: deps.rateLimits.passwordResetPerEmail,
      },
    }),
    users: createUserService({ database, clock }),
    friends: createFriendService({
      database,
      events,
      rateLimiter,
      presence: deps.presence.store,
      logger: logger.child({ service: "friends" }),
      requestRate: deps.rateLimits.friendRequestPerUser,
    }),
    blocks: createBlockService({ database, events, rateLimiter, logger: logger.child({ service: "blocks" }), blockRate: deps.rateLimits.blockPerUser }),
    rooms,
    messages: createMessageService({
      database,
      rooms,
      log: roomLog,
      rateLimiter,
      logger: logger.child({ service: "messages" }),
      sendRate: deps.rateLimits.sendPerUser,
      metrics: deps.metrics,
      clock,
      requireVerifiedEmail: deps.requireVerifiedEmail ?? false,
    }),
    search: createSearchService({ database, rateLimiter, searchRate: deps.rateLimits.searchPerUser }),
    messageChanges,
    moderation: createModerationService({ database, rooms, messageChanges, rateLimiter, clock, reportRate: deps.rateLimits.reportPerUser }),
    receipts: createReceiptService({
      database,
      rooms,
      events,
      clock,
      logger: logger.child({ service: "receipts" }),
      receiptEventsMaxMembers: deps.receiptEventsMaxMembers,
    }),
    presence: createPresenceService({
      database,
      rooms,
      events,
      rateLimiter,
      store: deps.presence.store,
      logger: logger.child({ service: "presence" }),
      typingRate: deps.rateLimits.typingPerUser,
      clock,
      instanceId: deps.presence.instanceId,
      timing: deps.presence.timing,
      eventsMaxMembers: deps.presence.eventsMaxMembers,
    }),
  };
}
