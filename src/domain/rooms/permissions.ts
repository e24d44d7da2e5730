import { DomainError } from "../../lib/domain-error.ts";
import type { MemberRole } from "./rooms.schema.ts";

/** Roles by rank, lowest first: each may do everything the ones before it may. */
export const MEMBER_ROLES = ["member", "moderator", "admin", "owner"] as const satisfies readonly MemberRole[];

export type RoomAction =
  | "mentionRoom"
  | "pin"
  | "readEditHistory"
  | "deleteOthersMessages"
  | "invite"
  | "kick"
  | "mute"
  | "ban"
  | "readAuditLog"
  | "handleReports"
  | "changeSettings"
  | "setRoles"
  | "transferOwnership";

/**
 * Who may do what in a room: each action and the lowest role allowed it. Every role check in the server is made
 * against this table, and README "Roles and permissions" shows the same one — change both together.
 *
 * Moderators keep the conversation clean (Matrix's kick/ban/redact at power 50, Discord's Manage Messages, Slack's
 * channel managers); admins run the room (its settings and who moderates it); owners also hand the room over.
 */
export const ROOM_PERMISSIONS: Readonly<Record<RoomAction, MemberRole>> = {
  mentionRoom: "moderator",
  pin: "moderator",
  readEditHistory: "moderator",
  deleteOthersMessages: "moderator",
  invite: "moderator",
  kick: "moderator",
  mute: "moderator",
  ban: "moderator",
  readAuditLog: "moderator",
  handleReports: "moderator",
  changeSettings: "admin",
  setRoles: "admin",
  transferOwnership: "owner",
};

/** How each action reads in a refusal: "only owners, admins and moderators can <this>". */
const ACTION_PHRASES: Readonly<Record<RoomAction, string>> = {
  mentionRoom: "mention the whole room",
  pin: "pin messages",
  readEditHistory: "read others' earlier versions of a message",
  deleteOthersMessages: "delete others' messages",
  invite: "invite",
  kick: "remove members",
  mute: "mute members",
  ban: "ban members",
  readAuditLog: "read the audit log",
  handleReports: "handle reports",
  changeSettings: "update the room",
  setRoles: "change roles",
  transferOwnership: "transfer ownership",
};

const PLURALS: Readonly<Record<MemberRole, string>> = { owner: "owners", admin: "admins", moderator: "moderators", member: "members" };

/** A role's rank; a non-member (a message's sender who has left) ranks below every member. */
export function rankOf(role: MemberRole | null): number {
  return role === null ? -1 : MEMBER_ROLES.indexOf(role);
}

export function may(role: MemberRole, action: RoomAction): boolean {
  return rankOf(role) >= rankOf(ROOM_PERMISSIONS[action]);
}

/** FORBIDDEN "only owners, admins and moderators can pin messages" unless the table allows `role` the action. */
export function requirePermission(role: MemberRole, action: RoomAction): void {
  if (may(role, action)) return;
  const allowed = MEMBER_ROLES.slice(rankOf(ROOM_PERMISSIONS[action]))
    .toReversed()
    .map((allowedRole) => PLURALS[allowedRole]);
  const list = allowed.length === 1 ? allowed[0] : `${allowed.slice(0, -1).join(", ")} and ${allowed.at(-1)}`;
  throw new DomainError("FORBIDDEN", `only ${list} can ${ACTION_PHRASES[action]}`);
}

/**
 * The rank rule: nobody acts on someone of equal or higher rank, except owners on owners (so co-owners can
 * settle a room between them, and the last one standing still holds it).
 */
export function outranks(actor: MemberRole, target: MemberRole | null): boolean {
  return rankOf(actor) > rankOf(target) || (actor === "owner" && target === "owner");
}

/** FORBIDDEN "moderators cannot remove admins" when the rank rule says no; `verb` reads before the target's role. */
export function requireOutranks(actor: MemberRole, target: MemberRole | null, verb: string): void {
  if (outranks(actor, target)) return;
  // Never null here: every member outranks a non-member.
  throw new DomainError("FORBIDDEN", `${PLURALS[actor]} cannot ${verb} ${PLURALS[target ?? "member"]}`);
}

/** Roles are given below one's own rank; owners give any, owner included (rooms.transferOwnership steps down too). */
export function requireGrantable(actor: MemberRole, role: MemberRole): void {
  if (actor === "owner" || rankOf(role) < rankOf(actor)) return;
  throw new DomainError("FORBIDDEN", `${PLURALS[actor]} can only give roles below their own`);
}
