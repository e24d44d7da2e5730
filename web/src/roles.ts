import type { MemberRole } from "@parley/client";

/**
 * What the app offers to whom: the server's table (src/domain/rooms/permissions.ts, README "Roles and permissions"),
 * copied for the actions the app shows (the app never imports the server's source). The server still decides; a
 * stale copy would only show a button that is refused, and test/domain/web-roles.test.ts keeps the copy true.
 */
export type ModerationAction =
  | "invite" | "kick" | "mute" | "ban" | "readAuditLog" | "handleReports" | "changeSettings" | "setRoles" | "transferOwnership"
  | "announce" | "skipSlowMode";

export const LOWEST_ROLE: Readonly<Record<ModerationAction, MemberRole>> = {
  invite: "moderator",
  kick: "moderator",
  mute: "moderator",
  ban: "moderator",
  readAuditLog: "moderator",
  handleReports: "moderator",
  changeSettings: "admin",
  setRoles: "admin",
  transferOwnership: "owner",
  announce: "moderator",
  skipSlowMode: "moderator",
};

/** Roles by rank, lowest first. */
export const MEMBER_ROLES: readonly MemberRole[] = ["member", "moderator", "admin", "owner"];

export function rankOf(role: MemberRole | null): number {
  return role === null ? -1 : MEMBER_ROLES.indexOf(role);
}

export function may(role: MemberRole | null | undefined, action: ModerationAction): boolean {
  return role != null && rankOf(role) >= rankOf(LOWEST_ROLE[action]);
}

/** Nobody acts on an equal or higher rank, except owners on owners (permissions.ts `outranks`). */
export function outranks(actor: MemberRole, target: MemberRole): boolean {
  return rankOf(actor) > rankOf(target) || (actor === "owner" && target === "owner");
}

/** The roles `actor` may give: below their own, or any for an owner. */
export function grantableRoles(actor: MemberRole): MemberRole[] {
  return MEMBER_ROLES.filter((role) => actor === "owner" || rankOf(role) < rankOf(actor));
}

/** "30 s", "5 min", "2 h", "3 days": how long a slow mode, mute or ban lasts. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h`;
  const days = Math.round(seconds / 86_400);
  return days === 1 ? "1 day" : `${days} days`;
}

/**
 * What the composer says before a send is refused: the room's post policy and slow mode as they apply to `role`
 * (the room's settings stay current through the cache bridge); null when neither holds me back.
 */
export function postingLimit(settings: { postPolicy: "everyone" | "moderators"; slowModeSeconds: number }, role: MemberRole | null | undefined): string | null {
  if (settings.postPolicy === "moderators" && !may(role, "announce")) return "Only moderators post in this room.";
  if (settings.slowModeSeconds > 0 && !may(role, "skipSlowMode")) return `Slow mode: one message every ${formatDuration(settings.slowModeSeconds)}.`;
  return null;
}
