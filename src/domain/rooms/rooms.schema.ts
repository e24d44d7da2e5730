import { z } from "zod";
import { humanName } from "../human-name.ts";
import type { Message } from "../messages/messages.schema.ts";
import { plainText } from "../plain-text.ts";
import type { UserPublic } from "../users/users.schema.ts";
import { pageCursor, PgTimestampText } from "./page-cursor.ts";

export type RoomKind = "public" | "private" | "direct" | "group";
/** Ranked owner > admin > moderator > member; what each may do is permissions.ts (ROOM_PERMISSIONS). */
export type MemberRole = "owner" | "admin" | "moderator" | "member";

export interface Room {
  id: string;
  kind: RoomKind;
  name: string;
  description: string;
  createdAt: string;
  /** Seq of the room's newest logged event (0 when none). */
  lastSeq: number;
  /** Names the room's stream: resume positions are seqs of this epoch (a different one means start over). */
  epoch: number;
  /** The room's avatar (rooms.update), null for none; files.url with variant "thumbnail" serves it small. */
  avatarFileId: string | null;
  settings: RoomSettings;
}

/** What admins and owners set with `rooms.update` (README: Room settings); every room has them all. */
export interface RoomSettings {
  /** At most this many members; null: the server's ROOM_MAX_MEMBERS. Lowering it removes nobody. */
  maxMembers: number | null;
  /** "sinceJoin": a member reads only what came after their own member.joined (messages, events, search, resume). */
  historyVisibility: "all" | "sinceJoin";
  /** "moderators": an announcement room, where moderators and up post and everyone reads. */
  postPolicy: "everyone" | "moderators";
  /** Stored and returned; attachments themselves arrive with file uploads. */
  attachmentsAllowed: boolean;
  /** At most one message per this many seconds per member below moderator; 0: off. */
  slowModeSeconds: number;
  /** Plain members may invite too; otherwise inviting is for moderators and up. */
  membersCanInvite: boolean;
}

/** A new room's settings (the columns' defaults). */
export const DEFAULT_ROOM_SETTINGS: Readonly<RoomSettings> = {
  maxMembers: null,
  historyVisibility: "all",
  postPolicy: "everyone",
  attachmentsAllowed: true,
  slowModeSeconds: 0,
  membersCanInvite: false,
};

/** The longest slow mode: six hours (Discord's and Slack's ceiling). */
export const MAX_SLOW_MODE_SECONDS = 21_600;

/** A room as its member sees it in `rooms.list`. */
export interface MyRoom extends Room {
  role: MemberRole;
  lastMessage: Message | null;
  /** Direct rooms only: the other person (direct rooms have an empty `name`; clients show the peer). */
  peer: UserPublic | null;
  /** My watermarks: everything up to these seqs reached one of my devices / was read. */
  readSeq: number;
  deliveredSeq: number;
  /** Others' main-timeline messages after `readSeq`, deleted ones aside (README: Unread). */
  unread: number;
  /** Messages after `readSeq` that mention me, by `@username` or `@room`. */
  unreadMentions: number;
}

export interface RoomMember {
  user: UserPublic;
  role: MemberRole;
  joinedAt: string;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null when there is none. */
  nextCursor: string | null;
}

export const RoomId = z.uuid();

const ROOM_NAME_MAX_CHARS = 80;

/** Names are shown to people: the rules of every human-visible name (see human-name.ts). */
const RoomName = humanName({ field: "name", maxChars: ROOM_NAME_MAX_CHARS });

/** Shown in room details like a message: plain text over several lines; bidi and zero-width characters allowed. */
const description = z
  .string()
  .transform((value) => value.normalize("NFC").trim())
  .pipe(z.string().check(plainText({ field: "description", lines: "many" })).max(500, "description must be at most 500 characters"));

/**
 * Discover pages by (name, id). The name in a cursor is a position copied from a row, never shown: it is held to the
 * rules that keep it safe for SQL and to a room name's length, not to the display rules, so paging still passes
 * rooms named before those rules existed.
 */
const discoverCursor = pageCursor(
  z
    .string()
    .check(plainText({ field: "cursor" }))
    .refine((name) => [...name].length <= ROOM_NAME_MAX_CHARS),
);
/** Members page by (joined_at, user id). */
const membersCursor = pageCursor(PgTimestampText);

export const CreateRoomInput = z.strictObject({
  name: RoomName,
  kind: z.enum(["public", "private"]),
  description: description.optional(),
});
export type CreateRoomInput = z.infer<typeof CreateRoomInput>;

export const OpenDirectInput = z.strictObject({ userId: z.uuid() });
export const RoomRef = z.strictObject({ roomId: RoomId });
export const DiscoverRoomsInput = z.strictObject({
  /** NFC like the names it is matched against. */
  query: z.string().normalize("NFC").trim().check(plainText({ field: "query" })).max(ROOM_NAME_MAX_CHARS).optional(),
  cursor: discoverCursor.optional(),
  limit: z.number().int().min(1).max(100).default(50),
});
export type DiscoverRoomsInput = z.infer<typeof DiscoverRoomsInput>;
export const InviteInput = z.strictObject({ roomId: RoomId, userId: z.uuid() });
export const KickInput = z.strictObject({ roomId: RoomId, userId: z.uuid() });
export const SetRoleInput = z.strictObject({
  roomId: RoomId,
  userId: z.uuid(),
  role: z.enum(["owner", "admin", "moderator", "member"]) satisfies z.ZodType<MemberRole>,
});
export type SetRoleInput = z.infer<typeof SetRoleInput>;
export const TransferOwnershipInput = z.strictObject({ roomId: RoomId, userId: z.uuid() });
/**
 * Only the settings named change. maxMembers is checked against ROOM_MAX_MEMBERS by the service (the server's
 * limit is config); null gives the room back the server's limit.
 */
export const RoomSettingsInput = z.strictObject({
  maxMembers: z.number().int().min(2).max(1_000_000).nullable().optional(),
  historyVisibility: z.enum(["all", "sinceJoin"]).optional(),
  postPolicy: z.enum(["everyone", "moderators"]).optional(),
  attachmentsAllowed: z.boolean().optional(),
  slowModeSeconds: z.number().int().min(0).max(MAX_SLOW_MODE_SECONDS).optional(),
  membersCanInvite: z.boolean().optional(),
}) satisfies z.ZodType<Partial<RoomSettings>>;

export const UpdateRoomInput = z
  .strictObject({
    roomId: RoomId,
    name: RoomName.optional(),
    description: description.optional(),
    /** A ready file of purpose "roomAvatar" the caller uploaded for this room; null removes the avatar. */
    avatarFileId: z.uuid().nullable().optional(),
    settings: RoomSettingsInput.optional(),
  })
  .refine(
    (input) =>
      input.name !== undefined ||
      input.description !== undefined ||
      input.avatarFileId !== undefined ||
      Object.values(input.settings ?? {}).some((value) => value !== undefined),
    { message: "change at least one of name, description, avatarFileId, settings" },
  );
export type UpdateRoomInput = z.infer<typeof UpdateRoomInput>;
export const MembersInput = z.strictObject({
  roomId: RoomId,
  cursor: membersCursor.optional(),
  limit: z.number().int().min(1).max(200).default(100),
});
export type MembersInput = z.infer<typeof MembersInput>;

/** A group's size: 2..49 other people, so with its creator 3..50 (a conversation, not a channel). */
export const GROUP_MIN_OTHERS = 2;
export const GROUP_MAX_OTHERS = 49;

export const CreateGroupInput = z.strictObject({
  userIds: z
    .array(z.uuid())
    .min(GROUP_MIN_OTHERS, `a group needs at least ${GROUP_MIN_OTHERS} other people`)
    .max(GROUP_MAX_OTHERS, `a group has at most ${GROUP_MAX_OTHERS} other people`)
    .refine((ids) => new Set(ids).size === ids.length, "userIds must be distinct"),
  /** Absent: the group is named by its members (see `groupName`). */
  name: RoomName.optional(),
});
export type CreateGroupInput = z.infer<typeof CreateGroupInput>;

/** A pending invitation as its invitee sees it (`rooms.invitations`, the `invitation` user event). */
export interface RoomInvitation {
  id: string;
  /** An unnamed group's `name` is built from its people, as in `rooms.list`. */
  room: { id: string; kind: RoomKind; name: string; memberCount: number };
  /** Null once the inviter's account is gone. */
  inviter: UserPublic | null;
  createdAt: string;
}

export const InvitationRef = z.strictObject({ invitationId: z.uuid() });

/** An invite link as `rooms.inviteLinks` lists it: never its token (only its hash is stored). */
export interface InviteLink {
  id: string;
  roomId: string;
  /** Null once the creator's account is gone. */
  createdBy: UserPublic | null;
  createdAt: string;
  expiresAt: string;
  /** Null: no cap on uses. */
  maxUses: number | null;
  uses: number;
  revokedAt: string | null;
}

/** What `rooms.inviteLinkRoom` shows of a usable link's room before joining: named as the invitations name it. */
export interface LinkedRoom {
  id: string;
  kind: RoomKind;
  name: string;
  memberCount: number;
  /** The caller is in the room already: joining by the link only opens it. */
  member: boolean;
}

/** What `rooms.createInviteLink` answers, once: the token is never shown again. */
export interface CreatedInviteLink {
  id: string;
  token: string;
  expiresAt: string;
  maxUses: number | null;
}

export const INVITE_LINK_DEFAULT_SECONDS = 7 * 24 * 3600;
export const CreateInviteLinkInput = z.strictObject({
  roomId: RoomId,
  /** 5 minutes .. 30 days; 7 days when absent. */
  expiresInSeconds: z.number().int().min(300).max(2_592_000).default(INVITE_LINK_DEFAULT_SECONDS),
  /** Absent: any number of people may use it until it expires. */
  maxUses: z.number().int().min(1).max(1000).optional(),
});
/** What the service takes: the router passes the parsed input, other callers may leave the default out. */
export type CreateInviteLinkInput = z.input<typeof CreateInviteLinkInput>;
export const InviteLinkRef = z.strictObject({ linkId: z.uuid() });
/** Tokens are 43 base64url characters (opaque-token.ts); anything else is refused as input, before any lookup. */
export const JoinByLinkInput = z.strictObject({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "not an invite link token") });
