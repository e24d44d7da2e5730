import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigint,
  customType,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/** Postgres's tsvector, read only through SQL (search): drizzle has no built-in column for it. */
const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** Lower-cased; unique. */
    email: text("email").notNull().unique(),
    /** NFKC + case-folded; unique. */
    username: text("username").notNull().unique(),
    displayName: text("display_name").notNull(),
    passwordHash: text("password_hash").notNull(),
    emailVerifiedAt: timestamp("email_verified_at", { withTimezone: true }),
    /** When the user's last socket closed (their offline transition); null if never seen. */
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }),
    /** Read receipts go only to the user's own devices, not to the room. */
    privateReceipts: boolean("private_receipts").notNull().default(false),
    /** Profile: plain text, at most 280 characters. */
    bio: text("bio").notNull().default(""),
    /** A status line and its emoji; both cleared once `status_expires_at` passes (readers treat them as gone). */
    statusText: text("status_text").notNull().default(""),
    statusEmoji: text("status_emoji").notNull().default(""),
    statusExpiresAt: timestamp("status_expires_at", { withTimezone: true }),
    /** An IANA zone name, or null when the user has not said. */
    timezone: text("timezone"),
    /** Who may open a direct room with this user: "everyone" | "friends" | "nobody". */
    dmPolicy: text("dm_policy").notNull().default("everyone"),
    /**
     * Set when the account was deleted: the row stays (messages keep a sender, shown as a deleted user) with its
     * email, username, name and credentials replaced, so nothing identifying is left and the names are free again.
     */
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
    /** The user's avatar (a completed file of purpose "avatar"); null for none. */
    avatarFileId: uuid("avatar_file_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // users.search is `lower(column) LIKE 'prefix%'`: text_pattern_ops serves it whatever the database collation.
    index("users_username_prefix_idx").on(sql`lower(${t.username}) text_pattern_ops`),
    index("users_display_name_prefix_idx").on(sql`lower(${t.displayName}) text_pattern_ops`),
    check("users_dm_policy", sql`${t.dmPolicy} in ('everyone', 'friends', 'nobody')`),
  ],
);

export const roomKind = pgEnum("room_kind", ["public", "private", "direct", "group"]);
export const memberRole = pgEnum("member_role", ["owner", "admin", "moderator", "member"]);

export const rooms = pgTable(
  "rooms",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    kind: roomKind("kind").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    /** The seq of the room's newest event (room_events); bumped in the transaction that appends it (gapless). */
    lastSeq: bigint("last_seq", { mode: "number" }).notNull().default(0),
    /**
     * Names this room's stream: a client resuming from a seq of another epoch (a restored backup, a rewritten
     * history) is told `recovered: false`, never handed a position that means something else now.
     */
    epoch: integer("epoch").notNull().default(sql`(floor(random() * 2147483647))::integer`),
    /** Messages ever posted to the main timeline (not thread-only replies): unread counts are differences of it. */
    mainCount: bigint("main_count", { mode: "number" }).notNull().default(0),
    /**
     * How many rows room_members holds for this room. Kept by a trigger on room_members (migration 0004), so no
     * path that adds or removes a member — a cascade included — can forget it; read under the room's lock for
     * ROOM_MAX_MEMBERS, and to keep presence events out of rooms too large for them.
     */
    memberCount: integer("member_count").notNull().default(0),
    /** For direct rooms only: the two member ids, sorted and joined by ":" — one direct room per pair. */
    directKey: text("direct_key").unique(),
    /** Settings (rooms.update). At most this many members; null means the server's ROOM_MAX_MEMBERS. */
    maxMembers: integer("max_members"),
    /** "all": new members read the room's whole history; "sinceJoin": only what came after they joined. */
    historyVisibility: text("history_visibility").notNull().default("all"),
    /** "everyone", or "moderators" for an announcement room (moderators and up post, everyone reads). */
    postPolicy: text("post_policy").notNull().default("everyone"),
    attachmentsAllowed: boolean("attachments_allowed").notNull().default(true),
    /** At most one message per this many seconds per member (moderators and up exempt); 0 turns it off. */
    slowModeSeconds: integer("slow_mode_seconds").notNull().default(0),
    /** Plain members may invite too (groups: on when created); otherwise inviting is for moderators and up. */
    membersCanInvite: boolean("members_can_invite").notNull().default(false),
    /** The room's avatar (a completed file of purpose "roomAvatar"); null for none. */
    avatarFileId: uuid("avatar_file_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check("rooms_history_visibility", sql`${t.historyVisibility} in ('all', 'sinceJoin')`),
    check("rooms_post_policy", sql`${t.postPolicy} in ('everyone', 'moderators')`),
    check("rooms_slow_mode_seconds", sql`${t.slowModeSeconds} >= 0`),
    // rooms.discover pages public rooms by (name, id).
    index("rooms_public_name_id_idx").on(t.name, t.id).where(sql`${t.kind} = 'public'`),
    check("rooms_direct_key_only_for_direct", sql`(${t.kind} = 'direct') = (${t.directKey} is not null)`),
  ],
);

export const roomMembers = pgTable(
  "room_members",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: memberRole("role").notNull().default("member"),
    joinedAt: timestamp("joined_at", { withTimezone: true }).notNull().defaultNow(),
    /** Watermarks: every message with seq ≤ these reached one of the member's devices / was read. Never decrease. */
    lastDeliveredSeq: bigint("last_delivered_seq", { mode: "number" }).notNull().default(0),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
    lastReadSeq: bigint("last_read_seq", { mode: "number" }).notNull().default(0),
    readAt: timestamp("read_at", { withTimezone: true }),
    /** The seq of this member's member.joined (0 for members from before it was kept): "sinceJoin" history starts after it. */
    joinedSeq: bigint("joined_seq", { mode: "number" }).notNull().default(0),
    /** A direct room hidden by this member: left out of their rooms.list until a message with a greater seq arrives. */
    hiddenSeq: bigint("hidden_seq", { mode: "number" }),
  },
  (t) => [
    primaryKey({ columns: [t.roomId, t.userId] }),
    index("room_members_user_idx").on(t.userId),
    // rooms.members pages a room's members by (joined_at, user_id).
    index("room_members_room_joined_idx").on(t.roomId, t.joinedAt, t.userId),
  ],
);

export const messages = pgTable(
  "messages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    seq: bigint("seq", { mode: "number" }).notNull(),
    senderId: uuid("sender_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    clientMsgId: text("client_msg_id").notNull(),
    body: text("body").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    /**
     * The room's main_count once this message was posted (1, 2, 3, … over the main timeline); null for a message
     * outside it. "Main-timeline messages after seq n" is rooms.main_count − the ordinal at n: no scan.
     */
    mainOrdinal: bigint("main_ordinal", { mode: "number" }),
    /** A MessageKind: "text" now; "image" and "file" come with attachments. */
    kind: text("kind").notNull().default("text"),
    editedAt: timestamp("edited_at", { withTimezone: true }),
    /** Versions the body had before the current one (message_edits holds them; gone on delete). */
    editCount: integer("edit_count").notNull().default(0),
    /** A tombstone: the body is "" and its edits, reactions and mentions are deleted with it. */
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
    /** "sender" or "moderator". */
    deletedBy: text("deleted_by"),
    replyToId: uuid("reply_to_id").references((): AnyPgColumn => messages.id, { onDelete: "set null" }),
    threadRootId: uuid("thread_root_id").references((): AnyPgColumn => messages.id, { onDelete: "cascade" }),
    alsoInRoom: boolean("also_in_room").notNull().default(false),
    /** A thread root's summary, kept by the transactions that add or delete its replies. */
    threadReplyCount: integer("thread_reply_count").notNull().default(0),
    threadLastReplyAt: timestamp("thread_last_reply_at", { withTimezone: true }),
    /** First repliers first, at most 10. */
    threadParticipants: uuid("thread_participants").array().notNull().default(sql`'{}'::uuid[]`),
    mentions: uuid("mentions").array().notNull().default(sql`'{}'::uuid[]`),
    mentionsRoom: boolean("mentions_room").notNull().default(false),
    /** The reactions aggregate, [{emoji, count}] in first-use order; message_reactions holds who. */
    reactions: jsonb("reactions").notNull().default(sql`'[]'::jsonb`),
    pinnedAt: timestamp("pinned_at", { withTimezone: true }),
    pinnedBy: uuid("pinned_by").references(() => users.id, { onDelete: "set null" }),
    hasLink: boolean("has_link").notNull().default(false),
    /**
     * The files attached when it was sent ([] for none): an `Attachment[]` copied from their `files` rows, so a read
     * needs no join. Immutable after the send; [] again once the message is deleted (its files go with it).
     */
    attachments: jsonb("attachments").notNull().default(sql`'[]'::jsonb`),
    /** Full-text search over the body: the 'simple' configuration (lower-cased words, no stemming, no stop words — no language assumed). */
    search: tsvector("search").generatedAlwaysAs(sql`to_tsvector('simple', body)`),
  },
  (t) => [
    uniqueIndex("messages_room_seq_idx").on(t.roomId, t.seq),
    // A thread's replies in order (messages.thread), and the root's summary.
    index("messages_thread_seq_idx").on(t.threadRootId, t.seq).where(sql`${t.threadRootId} is not null`),
    // Unread leaves out deleted messages after the watermark: a range over deleted ones only.
    index("messages_room_deleted_seq_idx").on(t.roomId, t.seq).where(sql`${t.deletedAt} is not null`),
    // Unread mentions: @room messages after the watermark.
    index("messages_room_mentions_room_seq_idx").on(t.roomId, t.seq).where(sql`${t.mentionsRoom}`),
    index("messages_room_pinned_idx").on(t.roomId, t.pinnedAt).where(sql`${t.pinnedAt} is not null`),
    index("messages_search_idx").using("gin", t.search),
    // Search ranks only the newest matches: for a common query, found walking this from the newest end.
    index("messages_created_at_idx").on(t.createdAt),
    // The ordinal at a read watermark: the newest main-timeline message at or before it.
    index("messages_room_main_seq_idx").on(t.roomId, t.seq).where(sql`${t.mainOrdinal} is not null`),
    // A room's newest main-timeline message is the one whose ordinal is rooms.main_count (rooms.list).
    uniqueIndex("messages_room_main_ordinal_idx").on(t.roomId, t.mainOrdinal).where(sql`${t.mainOrdinal} is not null`),
    uniqueIndex("messages_sender_client_msg_idx").on(t.senderId, t.clientMsgId),
    // Unread counts leave out the reader's own messages after their read watermark.
    index("messages_room_sender_seq_idx").on(t.roomId, t.senderId, t.seq),
  ],
);

/**
 * Each room's log: every change to what its members see takes the room's next seq, here, in the transaction that
 * makes it (messages and their projection, memberships, the room itself). What a client is sent for an event is
 * built from this row and the current projections (a message as it is now), so a replay converges on today's room.
 */
export const roomEvents = pgTable(
  "room_events",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    seq: bigint("seq", { mode: "number" }).notNull(),
    /** A RoomEventType (src/domain/events.ts). */
    type: text("type").notNull(),
    /** Who caused it; null once that account is gone. */
    actorId: uuid("actor_id").references(() => users.id, { onDelete: "set null" }),
    /** The message it is about, for message events. */
    messageId: uuid("message_id").references(() => messages.id, { onDelete: "cascade" }),
    /** What the event needs beyond the projections (a member's id and role, a reason), as the event type defines. */
    data: jsonb("data"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.seq] }), index("room_events_message_idx").on(t.messageId)],
);

/**
 * Each room's audit log: who did what to whom, for the moderators who answer for the room. One row per moderation or
 * administration act (room-audit.ts lists them), written in the transaction that makes the change, so a change and
 * its record commit or roll back together. `seq` is the room event it accompanies; a message's body is never copied
 * here. People and messages it names may go (set null); the record stays.
 */
export const roomAudit = pgTable(
  "room_audit",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    seq: bigint("seq", { mode: "number" }),
    /** A RoomAuditAction (src/domain/rooms/room-audit.ts). */
    action: text("action").notNull(),
    actorId: uuid("actor_id").references(() => users.id, { onDelete: "set null" }),
    targetUserId: uuid("target_user_id").references(() => users.id, { onDelete: "set null" }),
    targetMessageId: uuid("target_message_id").references(() => messages.id, { onDelete: "set null" }),
    reason: text("reason"),
    /** What the action changed (old and new role, the settings fields from → to), as its action defines. */
    data: jsonb("data"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  // rooms.auditLog pages a room's entries newest first, by (created_at, id).
  (t) => [index("room_audit_room_created_idx").on(t.roomId, t.createdAt.desc(), t.id.desc())],
);

/** Bodies a message had before an edit replaced them; deleted with the message's body. */
export const messageEdits = pgTable(
  "message_edits",
  {
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    /** 1 for the original body, 2 for the first edit's, … */
    version: integer("version").notNull(),
    body: text("body").notNull(),
    /** When an edit replaced this body. */
    replacedAt: timestamp("replaced_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.messageId, t.version] })],
);

/** Who reacted with what: one row per (message, user, emoji); messages.reactions is the aggregate. */
export const messageReactions = pgTable(
  "message_reactions",
  {
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    emoji: text("emoji").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.messageId, t.userId, t.emoji] }),
    // messages.reactors pages one emoji's reactors in order.
    index("message_reactions_emoji_idx").on(t.messageId, t.emoji, t.createdAt, t.userId),
  ],
);

/** Each explicit @mention of a member: their unread-mention count is a range over (user, room, seq). */
export const messageMentions = pgTable(
  "message_mentions",
  {
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    seq: bigint("seq", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.messageId, t.userId] }), index("message_mentions_user_room_seq_idx").on(t.userId, t.roomId, t.seq)],
);

export const receiptKind = pgEnum("receipt_kind", ["delivered", "read"]);

/**
 * One row per watermark move (not per message): when member `user_id`'s delivered/read watermark in a room
 * reached `seq`. "When was message n read by X" is X's first mark with seq ≥ n.
 */
export const receiptMarks = pgTable(
  "receipt_marks",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    kind: receiptKind("kind").notNull(),
    seq: bigint("seq", { mode: "number" }).notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.kind, t.userId, t.seq] })],
);

/**
 * One row per sign-in: a refresh-token family. The access tokens it issues name it (`sid`) and die with it.
 * `expires_at` is absolute (rotation never extends it); a revoked session keeps its row, with `revoked_at`, until
 * it expires and is purged, so its tokens are recognised as belonging to an ended session.
 */
export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The generation of the family's live refresh token; every rotation bumps it. */
    generation: integer("generation").notNull().default(0),
    /** Where the session was last used from (sign-in or refresh). */
    userAgent: text("user_agent"),
    ip: text("ip"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [index("sessions_user_idx").on(t.userId), index("sessions_expires_idx").on(t.expiresAt)],
);

/**
 * Every refresh token a session was given, stored only as its SHA-256. `used_at` is set by the rotation that
 * consumed it, in the same transaction that writes its successor: the row lock on that UPDATE picks the one winner
 * of concurrent rotations. A used token presented again is a racing tab (within seconds) or a stolen copy.
 */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    generation: integer("generation").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    usedAt: timestamp("used_at", { withTimezone: true }),
  },
  (t) => [index("refresh_tokens_session_idx").on(t.sessionId)],
);

/**
 * Who is kept out of a room: a ban removes the member and refuses their join, invitation and invite link until
 * `expires_at` (null: until rooms.unban). Kept apart from room_members so it outlives the membership it ended.
 */
export const roomBans = pgTable(
  "room_bans",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    bannedBy: uuid("banned_by").references(() => users.id, { onDelete: "set null" }),
    reason: text("reason"),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.userId] })],
);

/** Who may read a room but not send, react or type in it, until `expires_at` (null: until unmuted). Outlives leaving. */
export const roomMutes = pgTable(
  "room_mutes",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    mutedBy: uuid("muted_by").references(() => users.id, { onDelete: "set null" }),
    reason: text("reason"),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.userId] })],
);

/** A pending invitation: nobody joins a private room or a group without accepting. Accepting or declining deletes it. */
export const roomInvitations = pgTable(
  "room_invitations",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    inviteeId: uuid("invitee_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    inviterId: uuid("inviter_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("room_invitations_room_invitee_idx").on(t.roomId, t.inviteeId), index("room_invitations_invitee_idx").on(t.inviteeId, t.createdAt)],
);

/** Invite links to a private room: the token is stored only as its SHA-256; revoked, expired or used up, it admits nobody. */
export const roomInviteLinks = pgTable(
  "room_invite_links",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull().unique(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    maxUses: integer("max_uses"),
    uses: integer("uses").notNull().default(0),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [index("room_invite_links_room_idx").on(t.roomId, t.createdAt)],
);

/**
 * A report about a message or a person, for the moderators of the room it names (a report without a room is for
 * the operator). `target_key` ("message:<id>" or "user:<id>") keeps one open report per reporter and target.
 */
export const reports = pgTable(
  "reports",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    reporterId: uuid("reporter_id").references(() => users.id, { onDelete: "set null" }),
    roomId: uuid("room_id").references(() => rooms.id, { onDelete: "cascade" }),
    messageId: uuid("message_id").references(() => messages.id, { onDelete: "set null" }),
    targetUserId: uuid("target_user_id").references(() => users.id, { onDelete: "set null" }),
    targetKey: text("target_key").notNull(),
    reason: text("reason").notNull(),
    note: text("note"),
    /** "open" | "resolved". */
    status: text("status").notNull().default("open"),
    resolvedBy: uuid("resolved_by").references(() => users.id, { onDelete: "set null" }),
    /** The moderator's action: "dismiss" | "delete" | "mute" | "ban" | "kick". */
    resolution: text("resolution"),
    resolvedAt: timestamp("resolved_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("reports_open_reporter_target_idx").on(t.reporterId, t.targetKey).where(sql`${t.status} = 'open'`),
    // moderation.reports pages a room's reports newest first.
    index("reports_room_status_created_idx").on(t.roomId, t.status, t.createdAt.desc(), t.id.desc()),
  ],
);

/** A friend request waiting for its answer; accepting turns it into two friendships rows, declining deletes it. */
export const friendRequests = pgTable(
  "friend_requests",
  {
    fromUserId: uuid("from_user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    toUserId: uuid("to_user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.fromUserId, t.toUserId] }), index("friend_requests_to_idx").on(t.toUserId, t.createdAt)],
);

/** Friends, one row each way, so "my friends" is one index range. */
export const friendships = pgTable(
  "friendships",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    friendId: uuid("friend_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.friendId] })],
);

/** `blocker_id` blocked `blocked_id` (users.block). Effects both ways are listed in README "Blocking". */
export const userBlocks = pgTable(
  "user_blocks",
  {
    blockerId: uuid("blocker_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    blockedId: uuid("blocked_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] }), index("user_blocks_blocked_idx").on(t.blockedId)],
);

/**
 * The outbox: work caused by a change, written in the change's own transaction (so it exists exactly when the change
 * committed) and done afterwards, at least once, by a worker on any instance (claimed FOR UPDATE SKIP LOCKED).
 * `idempotency_key` makes enqueueing the same work twice a no-op; handlers are idempotent because a job may run again
 * after a crash between its effect and its completion.
 */
export const jobs = pgTable(
  "jobs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** A JobKind (src/domain/jobs): which handler runs it. */
    kind: text("kind").notNull(),
    payload: jsonb("payload").notNull(),
    idempotencyKey: text("idempotency_key").unique(),
    /** "queued" | "running" | "done" | "dead". */
    status: text("status").notNull().default("queued"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull().default(10),
    /** Not before this time (the next retry's, after a failure). */
    runAt: timestamp("run_at", { withTimezone: true }).notNull().defaultNow(),
    /** The instance working on it, and until when its claim holds (then another may take it over). */
    lockedBy: text("locked_by"),
    lockedUntil: timestamp("locked_until", { withTimezone: true }),
    lastError: text("last_error"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    check("jobs_status", sql`${t.status} in ('queued', 'running', 'done', 'dead')`),
    // Workers claim the due queued jobs, oldest first.
    index("jobs_due_idx").on(t.runAt).where(sql`${t.status} = 'queued'`),
    // A crashed worker's claims are found by their lapsed lock.
    index("jobs_running_idx").on(t.lockedUntil).where(sql`${t.status} = 'running'`),
    index("jobs_dead_idx").on(t.finishedAt).where(sql`${t.status} = 'dead'`),
  ],
);

/**
 * Single-use tokens sent by email, stored only as their SHA-256: "verify" (the address in `email`), "reset" (a
 * password), "change" (to `email`, the new address). Used or expired, a token admits nothing.
 */
export const emailTokens = pgTable(
  "email_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: text("purpose").notNull(),
    email: text("email").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check("email_tokens_purpose", sql`${t.purpose} in ('verify', 'reset', 'change')`),
    index("email_tokens_user_idx").on(t.userId, t.purpose),
  ],
);

/**
 * Uploaded files: created "pending" by files.createUpload (the client uploads straight to storage), "ready" once
 * files.complete checked the object, "deleted" once its objects are gone. `message_id` is set when a message
 * attaches it (one message per file). Pending files older than a day are removed by a job.
 */
export const files = pgTable(
  "files",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    ownerId: uuid("owner_id").references(() => users.id, { onDelete: "set null" }),
    /** "attachment" | "avatar" | "roomAvatar". */
    purpose: text("purpose").notNull(),
    roomId: uuid("room_id").references(() => rooms.id, { onDelete: "cascade" }),
    messageId: uuid("message_id").references(() => messages.id, { onDelete: "set null" }),
    filename: text("filename").notNull(),
    contentType: text("content_type").notNull(),
    /** Bytes, as declared at createUpload and then as stored. */
    size: bigint("size", { mode: "number" }).notNull(),
    storageKey: text("storage_key").notNull().unique(),
    /** "pending" | "ready" | "deleted". */
    status: text("status").notNull().default("pending"),
    width: integer("width"),
    height: integer("height"),
    /** An image's thumbnail (a WebP the server made at complete), and its size; null for none. */
    thumbnailKey: text("thumbnail_key"),
    thumbnailWidth: integer("thumbnail_width"),
    thumbnailHeight: integer("thumbnail_height"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp("completed_at", { withTimezone: true }),
  },
  (t) => [
    check("files_status", sql`${t.status} in ('pending', 'ready', 'deleted')`),
    check("files_purpose", sql`${t.purpose} in ('attachment', 'avatar', 'roomAvatar')`),
    index("files_owner_idx").on(t.ownerId, t.status),
    index("files_message_idx").on(t.messageId).where(sql`${t.messageId} is not null`),
    index("files_pending_created_idx").on(t.createdAt).where(sql`${t.status} = 'pending'`),
  ],
);
