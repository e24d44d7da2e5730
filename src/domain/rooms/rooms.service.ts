import type { Database } from "../../infra/db/database.ts";
import type { RoomLog } from "../room-log/room-log.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher } from "../events.ts";
import { type AuditLogInput, createRoomAuditLog, type RoomAuditEntry } from "./room-audit.ts";
import { createRoomListing } from "./room-listing.ts";
import type { BucketRule } from "../../config.ts";
import { createRoomMembershipChanges, type RoomRates } from "./room-membership.ts";
import { type BanInput, createRoomModeration, type MuteInput, type RestrictionTarget } from "./room-moderation.ts";
import { createRoomRestrictions, type RestrictionsInput, type RoomRestriction } from "./room-restrictions.ts";
import { createRoomRoleChanges } from "./room-roles.ts";
import type {
  CreatedInviteLink,
  CreateGroupInput,
  CreateInviteLinkInput,
  CreateRoomInput,
  InviteLink,
  LinkedRoom,
  DiscoverRoomsInput,
  MemberRole,
  MembersInput,
  MyRoom,
  Page,
  Room,
  RoomInvitation,
  RoomMember,
  SetRoleInput,
  UpdateRoomInput,
} from "./rooms.schema.ts";

/**
 * Rooms and who is in them. Every read and write checks membership; an outsider gets FORBIDDEN
 * "not a member of this room" for a private room exactly as for a room that does not exist.
 */
export interface RoomService {
  /**
   * The creator becomes owner (and their sockets attach to the room: `room.membership` joined).
   * TOO_MANY_REQUESTS past the per-user creation rate; FORBIDDEN reason ROOM_LIMIT past USER_MAX_ROOMS.
   */
  create(userId: string, input: CreateRoomInput): Promise<Room>;
  /**
   * One direct room per pair; calling again (even concurrently) returns the same room (and shows it again if I hid
   * it). BAD_REQUEST for yourself, NOT_FOUND for no such user, FORBIDDEN reason BLOCKED when either blocked the
   * other; a new one also FORBIDDEN reason DM_POLICY when the other's `dmPolicy` is "nobody", or "friends" and I am
   * not their friend. Creating it tells both people (`room.membership` joined). Rate-limited per user;
   * FORBIDDEN reason ROOM_LIMIT when either person is in USER_MAX_ROOMS rooms.
   */
  openDirect(userId: string, otherUserId: string): Promise<Room>;
  /**
   * My rooms, newest activity first, each with its last message and last seq, and the peer of a direct room. A direct
   * room I hid is left out until a message arrives after I hid it.
   */
  list(userId: string): Promise<MyRoom[]>;
  /** Public rooms, optionally filtered by name (case-insensitive substring); keyset-paginated by (name, id). */
  discover(userId: string, input: DiscoverRoomsInput): Promise<Page<Room>>;
  /**
   * Members see any room; anyone may see a public room; otherwise FORBIDDEN (never revealing existence). An unnamed
   * group is named by its people, here and in `list`.
   */
  get(userId: string, roomId: string): Promise<Room>;
  /**
   * Public rooms only; idempotent for members (who get the room back and nothing is announced). FORBIDDEN reason
   * ROOM_FULL at the room's maxMembers (else ROOM_MAX_MEMBERS), reason ROOM_LIMIT when the user is in USER_MAX_ROOMS rooms.
   */
  join(userId: string, roomId: string): Promise<Room>;
  /**
   * A group of the caller (owner) and 2..49 others, each of whom is invited (nobody joins without accepting); members
   * may invite. Named by its people while `name` is absent (room-groups.ts `groupName`; stored as ""). NOT_FOUND for
   * an unknown user, BAD_REQUEST for yourself, FORBIDDEN reason BLOCKED for a person either way blocked; rate-limited
   * like `create`; FORBIDDEN reason ROOM_LIMIT as for `create`.
   */
  createGroup(userId: string, input: CreateGroupInput): Promise<Room>;
  /**
   * Invites someone to any non-direct room: a pending invitation (an `invitation` event to them), never a member
   * until they accept. Moderators and up may, or every member where the room's members may invite (groups).
   * Idempotent for a pending invitation and for a member (`invitationId` null). NOT_FOUND for no such user;
   * FORBIDDEN reason BANNED for someone banned from the room, reason BLOCKED either way. Rate-limited per inviter.
   */
  invite(userId: string, input: { roomId: string; userId: string }): Promise<{ invitationId: string | null }>;
  /** My pending invitations, newest first. */
  invitations(userId: string): Promise<RoomInvitation[]>;
  /**
   * Joins the room the invitation is for (as `join` does, within the caps: FORBIDDEN reason ROOM_FULL / ROOM_LIMIT,
   * reason BANNED) and deletes it; `invitation.removed` "accepted" to my devices. NOT_FOUND unless it is mine.
   */
  acceptInvite(userId: string, invitationId: string): Promise<Room>;
  /** Deletes my invitation; `invitation.removed` "declined" to my devices. NOT_FOUND unless it is mine. */
  declineInvite(userId: string, invitationId: string): Promise<void>;
  /**
   * The inviter, or the room's moderators and up, withdraw an invitation: `invitation.removed` "cancelled" to the
   * invitee. NOT_FOUND for anyone outside the room, FORBIDDEN for other members.
   */
  cancelInvite(userId: string, invitationId: string): Promise<void>;
  /**
   * A link to a private room or group (BAD_REQUEST for public and direct rooms), for whoever may invite: the token
   * is answered once and stored only as its SHA-256. Rate-limited like invitations.
   */
  createInviteLink(userId: string, input: CreateInviteLinkInput): Promise<CreatedInviteLink>;
  /** The room's links without their tokens: moderators and up see all, other members their own. */
  inviteLinks(userId: string, roomId: string): Promise<InviteLink[]>;
  /** The link's creator or the room's moderators and up; idempotent. */
  revokeInviteLink(userId: string, linkId: string): Promise<void>;
  /**
   * Joins the link's room under its lock, taking one use atomically. FORBIDDEN reason INVITE_LINK for an unknown,
   * revoked, expired or used-up link (one answer for all), reason BANNED, ROOM_FULL, ROOM_LIMIT; members get the room
   * back without taking a use. Rate-limited per user (RATE_LIMIT_JOIN_BY_LINK_PER_USER), against token guessing.
   */
  joinByLink(userId: string, token: string): Promise<Room>;
  /**
   * The room a usable link admits to (name, kind, member count, whether the caller is in it), so that a join screen
   * can say where it leads; the same one refusal as joinByLink otherwise, and charged to the same rate.
   */
  inviteLinkRoom(userId: string, token: string): Promise<LinkedRoom>;
  /**
   * Leaving a direct room hides it for me (until its next message, or until I open it again; `room.hidden` to my
   * devices): I stay a member and keep receiving it. The last owner of a room with other members must transfer
   * ownership first (CONFLICT reason LAST_OWNER); the last member out deletes the room (their sockets are told
   * `room.membership` left with `room: null`).
   */
  leave(userId: string, roomId: string): Promise<void>;
  /**
   * Moderators and up remove a member of lower rank (owners also owners): `member.left` reason "removed".
   * BAD_REQUEST for direct rooms and for yourself, NOT_FOUND when the user is not a member, FORBIDDEN by rank.
   * A kicked user may rejoin a public room at once (a ban keeps them out). TOO_MANY_REQUESTS past the moderation
   * rate (one bucket with ban, unban, mute and unmute).
   */
  kick(userId: string, input: { roomId: string; userId: string }): Promise<void>;
  /**
   * Admins and owners rename, redescribe or change the settings of a non-direct room; publishes `room.updated`
   * (the room with its settings) and audits each field that changed. BAD_REQUEST for direct rooms and for a
   * maxMembers above ROOM_MAX_MEMBERS; a maxMembers below the member count removes nobody.
   */
  update(userId: string, input: UpdateRoomInput): Promise<Room>;
  /**
   * Admins and owners give a member of lower rank (owners: any member) a role below their own (owners: any role);
   * anyone allowed may lower their own. A `member.role` event; the same role again changes nothing. CONFLICT
   * reason LAST_OWNER when it would leave no owner; BAD_REQUEST for direct rooms; NOT_FOUND for a non-member.
   * TOO_MANY_REQUESTS past the role-change rate (shared with transferOwnership).
   */
  setRole(userId: string, input: SetRoleInput): Promise<void>;
  /**
   * An owner makes another member owner and becomes admin: two `member.role` events, the new owner's first.
   * BAD_REQUEST for yourself and direct rooms; NOT_FOUND for a non-member.
   */
  transferOwnership(userId: string, input: { roomId: string; userId: string }): Promise<void>;
  /**
   * The room's audit log, newest first, keyset-paginated by (created_at, id): role changes, ownership transfers,
   * kicks, setting changes, pins, unpins and moderators' deletes (room-audit.ts). Moderators and up; FORBIDDEN by
   * rank for members, "not a member of this room" for everyone else.
   */
  auditLog(userId: string, input: AuditLogInput): Promise<Page<RoomAuditEntry>>;
  /**
   * Moderators and up ban a user of lower rank (any non-member too, pre-emptively) for `durationSeconds` or until
   * unbanned: a member is removed (`member.left` reason "banned", their sockets drop the room everywhere), pending
   * invitations to the room go, and every way in is refused (FORBIDDEN reason BANNED) until it lifts. Banning again
   * replaces reason and expiry. BAD_REQUEST for yourself and direct rooms; NOT_FOUND for no such user.
   */
  ban(userId: string, input: BanInput): Promise<void>;
  /** Moderators and up; NOT_FOUND when no ban is in force. Audited; no room event. */
  unban(userId: string, input: RestrictionTarget): Promise<void>;
  /** Bans in force, newest first, keyset-paginated by (created_at, user id). Moderators and up. */
  bans(userId: string, input: RestrictionsInput): Promise<Page<RoomRestriction>>;
  /**
   * Moderators and up mute a member of lower rank: they still read, but sending, reacting, editing and typing are
   * refused (FORBIDDEN reason MUTED) until it lifts. A `member.muted` event. NOT_FOUND for a non-member; BAD_REQUEST
   * for yourself and direct rooms.
   */
  mute(userId: string, input: MuteInput): Promise<void>;
  /** Moderators and up; NOT_FOUND when no mute is in force. A `member.unmuted` event. */
  unmute(userId: string, input: RestrictionTarget): Promise<void>;
  /** Mutes in force, newest first, keyset-paginated by (created_at, user id). Moderators and up. */
  mutes(userId: string, input: RestrictionsInput): Promise<Page<RoomRestriction>>;
  /** Keyset-paginated by (joined_at, user id), oldest member first. */
  members(userId: string, input: MembersInput): Promise<Page<RoomMember>>;
  /** The caller's role, or FORBIDDEN "not a member of this room" (also for rooms that do not exist). */
  requireMember(userId: string, roomId: string): Promise<MemberRole>;
  /**
   * Ids of every room the user belongs to (realtime subscribes the socket to these) — or only those with at most
   * `atMostMembers` members.
   */
  roomIdsOf(userId: string, options?: { atMostMembers?: number }): Promise<string[]>;
  /**
   * For those of `roomIds` whose history the user reads only since joining ("sinceJoin"), the first seq they may
   * read; rooms they read whole (or are not in) are left out. One read, for a resume of many rooms.
   */
  historyStarts(userId: string, roomIds: readonly string[]): Promise<Map<string, number>>;
}

export interface RoomServiceDeps {
  database: Database;
  events: EventPublisher;
  /** Memberships and room changes are logged room events (seq'd, replayed on resume). */
  log: Pick<RoomLog, "append" | "announce" | "forget">;
  clock: Clock;
  logger: Logger;
  rateLimiter: RateLimiter;
  /**
   * Per-user rates of the actions that create rooms or bring people into them, of role changes, and of
   * moderation acts (ban, unban, mute, unmute, kick: one bucket).
   */
  rates: RoomRates & { roleChanges: BucketRule; moderation: BucketRule };
  /** Members per room and rooms per user. */
  limits: { roomMaxMembers: number; userMaxRooms: number };
}

export function createRoomService(deps: RoomServiceDeps): RoomService {
  return {
    ...createRoomListing({ database: deps.database }),
    ...createRoomMembershipChanges(deps),
    ...createRoomRoleChanges(deps),
    ...createRoomAuditLog({ database: deps.database }),
    ...createRoomModeration(deps),
    ...createRoomRestrictions(deps),
  };
}
