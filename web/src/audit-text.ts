import type { RoomAuditEntry, UserPublic } from "@parley/client";
import { formatDuration } from "./roles.ts";

type SettingsChanges = Extract<RoomAuditEntry, { action: "room.updated" }>["data"];

/** A person as the log names them; "someone" once their account is gone. */
export function nameOf(user: UserPublic | null | undefined): string {
  return user ? user.displayName || user.username : "someone";
}

const SETTING_LABELS: Readonly<Record<keyof SettingsChanges, string>> = {
  name: "the name",
  description: "the description",
  avatarFileId: "the avatar",
  maxMembers: "the member limit",
  historyVisibility: "history visibility",
  postPolicy: "who may post",
  attachmentsAllowed: "attachments",
  slowModeSeconds: "slow mode",
  membersCanInvite: "members inviting",
};

function settingValue(key: keyof SettingsChanges, value: string | number | boolean | null): string {
  if (key === "slowModeSeconds") return value ? formatDuration(Number(value)) : "off";
  if (key === "maxMembers") return value === null ? "the server's limit" : String(value);
  if (key === "avatarFileId") return value === null ? "none" : "a new picture";
  if (key === "historyVisibility") return value === "sinceJoin" ? "since joining" : "all";
  if (key === "postPolicy") return value === "moderators" ? "moderators only" : "everyone";
  if (typeof value === "boolean") return value ? "on" : "off";
  return `“${String(value)}”`;
}

/** "slow mode from off to 30 s, the name from “a” to “b”". */
function settingsText(changes: SettingsChanges): string {
  const parts = (Object.keys(changes) as (keyof SettingsChanges)[]).flatMap((key) => {
    const change = changes[key];
    if (!change) return [];
    if (key === "avatarFileId") return [`${SETTING_LABELS[key]} to ${settingValue(key, change.to)}`];
    return [`${SETTING_LABELS[key]} from ${settingValue(key, change.from)} to ${settingValue(key, change.to)}`];
  });
  return parts.length ? parts.join(", ") : "the room";
}

function untilText(expiresAt: string | null): string {
  return expiresAt ? ` until ${new Date(expiresAt).toLocaleString()}` : "";
}

const RESOLUTIONS = { dismiss: "dismissed", delete: "deleted the message", mute: "muted", ban: "banned", kick: "removed" } as const;

/** A piece of an audit sentence: words, or a person's name (shown isolated, in a <bdi>). */
export type AuditPart = string | { name: string };

/** One audit entry as words and names, without its time: ["ann", " banned ", "ben", ": spam"] with names marked. */
export function auditParts(entry: RoomAuditEntry): AuditPart[] {
  const actor = { name: nameOf(entry.actor) };
  const target = { name: nameOf(entry.target.user) };
  const what = ((): AuditPart[] => {
    switch (entry.action) {
      case "role.changed":
        return [actor, " changed ", target, `'s role from ${entry.data.from} to ${entry.data.to}`];
      case "ownership.transferred":
        return [actor, " handed ownership to ", target];
      case "member.kicked":
        return [actor, " removed ", target];
      case "room.updated":
        return [actor, ` changed ${settingsText(entry.data)}`];
      case "member.banned":
        return [actor, " banned ", target, untilText(entry.data.expiresAt)];
      case "member.muted":
        return [actor, " muted ", target, untilText(entry.data.expiresAt)];
      case "member.unbanned":
        return [actor, " unbanned ", target];
      case "member.unmuted":
        return [actor, " unmuted ", target];
      case "report.resolved": {
        const count = entry.data.reportIds.length;
        return [actor, ` resolved ${count === 1 ? "a report" : `${count} reports`} about `, target, `: ${RESOLUTIONS[entry.data.resolution]}`];
      }
      case "message.pinned":
        return [actor, " pinned a message by ", target];
      case "message.unpinned":
        return [actor, " unpinned a message by ", target];
      case "message.deleted":
        return [actor, " deleted a message by ", target];
    }
  })();
  return entry.reason ? [...what, `: ${entry.reason}`] : what;
}

/** The same as plain text: "ann banned ben until 5/1/2026, 10:00:00: spam". */
export function auditText(entry: RoomAuditEntry): string {
  return auditParts(entry)
    .map((part) => (typeof part === "string" ? part : part.name))
    .join("");
}
