import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { roomMembers, rooms, users } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { UserPublic } from "../users/users.schema.ts";
import type { MemberRole, Room, RoomSettings } from "./rooms.schema.ts";

/**
 * The one answer an outsider gets for a room they may not see, whether it is private or does not exist at all:
 * a private room's existence is never revealed.
 */
export function notAMember(): DomainError {
  return new DomainError("FORBIDDEN", "not a member of this room");
}

export const roomColumns = {
  id: rooms.id,
  kind: rooms.kind,
  name: rooms.name,
  description: rooms.description,
  createdAt: rooms.createdAt,
  lastSeq: rooms.lastSeq,
  epoch: rooms.epoch,
  avatarFileId: rooms.avatarFileId,
  // Flat (returning() takes no nested fields); toRoom gathers them into `settings`.
  maxMembers: rooms.maxMembers,
  historyVisibility: rooms.historyVisibility,
  postPolicy: rooms.postPolicy,
  attachmentsAllowed: rooms.attachmentsAllowed,
  slowModeSeconds: rooms.slowModeSeconds,
  membersCanInvite: rooms.membersCanInvite,
};

type RoomRow = { [K in Exclude<keyof Room, "settings">]: K extends "createdAt" ? Date : Room[K] } & {
  [K in keyof RoomSettings]: K extends "historyVisibility" | "postPolicy" ? string : RoomSettings[K];
};

export function toRoom(row: RoomRow): Room {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    description: row.description,
    createdAt: row.createdAt.toISOString(),
    lastSeq: row.lastSeq,
    epoch: row.epoch,
    avatarFileId: row.avatarFileId,
    settings: {
      maxMembers: row.maxMembers,
      // The columns' check constraints hold them to these values.
      historyVisibility: row.historyVisibility === "sinceJoin" ? "sinceJoin" : "all",
      postPolicy: row.postPolicy === "moderators" ? "moderators" : "everyone",
      attachmentsAllowed: row.attachmentsAllowed,
      slowModeSeconds: row.slowModeSeconds,
      membersCanInvite: row.membersCanInvite,
    },
  };
}

export interface RoomForUser {
  room: Room;
  /** The user's role, or null when they are not a member. */
  role: MemberRole | null;
  /** The seq of the user's member.joined (0 for members from before it was kept, and for non-members). */
  joinedSeq: number;
}

/**
 * The first seq a member may read in the room: their own member.joined's where history is visible "sinceJoin", 0
 * (the whole history) otherwise. Messages, events, search, pins and resume all start there.
 */
export function historyStart(room: Room, joinedSeq: number): number {
  return room.settings.historyVisibility === "sinceJoin" ? joinedSeq : 0;
}

/**
 * The room and the user's role in it, in one query; null when the room does not exist.
 * `lock` takes the room row (FOR NO KEY UPDATE) for the rest of the transaction: membership changes that depend
 * on who else is a member (leave, kick) serialise on it, as do sends (which update the row).
 */
export async function findRoomForUser(
  db: Db,
  userId: string,
  roomId: string,
  options: { lock: "none" | "room" } = { lock: "none" },
): Promise<RoomForUser | null> {
  const query = db
    .select({ room: roomColumns, role: roomMembers.role, joinedSeq: roomMembers.joinedSeq })
    .from(rooms)
    .leftJoin(roomMembers, and(eq(roomMembers.roomId, rooms.id), eq(roomMembers.userId, userId)))
    .where(eq(rooms.id, roomId));
  const [row] = options.lock === "room" ? await query.for("no key update", { of: rooms }) : await query;
  return row ? { room: toRoom(row.room), role: row.role, joinedSeq: row.joinedSeq ?? 0 } : null;
}

/**
 * The room for one of its members, with the first seq of its history they may read (historyStart);
 * FORBIDDEN "not a member of this room" for everyone else.
 */
export async function findMemberRoom(
  db: Db,
  userId: string,
  roomId: string,
  options: { lock: "none" | "room" } = { lock: "none" },
): Promise<{ room: Room; role: MemberRole; visibleFrom: number }> {
  const found = await findRoomForUser(db, userId, roomId, options);
  if (!found || found.role === null) throw notAMember();
  return { room: found.room, role: found.role, visibleFrom: historyStart(found.room, found.joinedSeq) };
}

/** NOT_FOUND "no such message" for a message before the reader's history starts: as if it did not exist. */
export function requireVisible(seq: number, visibleFrom: number): void {
  if (seq < visibleFrom) throw new DomainError("NOT_FOUND", "no such message");
}

/** Another member's role in the room, or null when they are not one. Read it under the room's lock to act on it. */
export async function roleIn(db: Db, roomId: string, userId: string): Promise<MemberRole | null> {
  const [row] = await db
    .select({ role: roomMembers.role })
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
  return row?.role ?? null;
}

/** The role of the member an action is aimed at; NOT_FOUND when they are not in the room. */
export async function requireTargetRole(db: Db, roomId: string, userId: string): Promise<MemberRole> {
  const role = await roleIn(db, roomId, userId);
  if (role === null) throw new DomainError("NOT_FOUND", "that user is not a member of this room");
  return role;
}

/** Direct rooms always have exactly their two people and no name: BAD_REQUEST for anything that would change that. */
export function refuseDirect(room: Room, action: string): void {
  if (room.kind === "direct") throw new DomainError("BAD_REQUEST", `direct rooms cannot ${action}`);
}

export async function findUser(db: Db, userId: string): Promise<UserPublic> {
  const [user] = await db
    .select({ id: users.id, username: users.username, displayName: users.displayName })
    .from(users)
    // A deleted account (auth.deleteAccount) can be neither invited nor written to.
    .where(and(eq(users.id, userId), isNull(users.deletedAt)));
  if (!user) throw new DomainError("NOT_FOUND", "no such user");
  return user;
}
