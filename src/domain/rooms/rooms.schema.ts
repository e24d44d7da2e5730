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
  .strictObject({ roomId: RoomId, name: RoomName.optional(), description: description.optional(), settings: RoomSettingsInput.optional() })
  .refine(
    (input) =>
      input.name !== undefined ||
      input.description !== undefined ||
      Object.values(input.settings ?? {}).some((value) => value !== undefined),
    { message: "change at least one of name, description, settings" },
  );
export type UpdateRoomInput = z.infer<typeof UpdateRoomInput>;
export const MembersInput = z.strictObject({
  roomId: RoomId,
  cursor: membersCursor.optional(),
  limit: z.number().int().min(1).max(200).default(100),
});
export type MembersInput = z.infer<typeof MembersInput>;
