import { DomainError } from "../../lib/domain-error.ts";
import { may, permissionRefusal } from "../rooms/permissions.ts";
import type { MemberRole, RoomKind } from "../rooms/rooms.schema.ts";
import type { UserPublic } from "../users/users.schema.ts";

/*
 * The send gate: who may post in a room right now, beyond being a member. The group commit (message-commits.ts)
 * reads what it needs for a whole batch in one statement under the rooms' locks (sendersIn) and asks here per send.
 */

/** A member about to post, with what the send gate needs to know about them in that room. */
export interface Sender {
  user: UserPublic;
  role: MemberRole;
  /** A mute in force (room_mutes) at the batch's `now`. */
  muted: boolean;
  /** In a direct room: either of its two people blocked the other. */
  blocked: boolean;
  /** Slow-mode rooms only: seconds since the member's previous message in the room (null: none, or no slow mode). */
  sinceLastSeconds: number | null;
  /** users.email_verified_at is set (read with the member row: no extra query). */
  emailVerified: boolean;
}

/** Server-wide rules of the gate (config). */
export interface SendPolicy {
  /** REQUIRE_VERIFIED_EMAIL: only users with a verified address may post. */
  requireVerifiedEmail: boolean;
}

export const OPEN_SEND_POLICY: SendPolicy = { requireVerifiedEmail: false };

/** The room's rules for who may post, as read under its lock. */
export interface PostingRules {
  kind: RoomKind;
  postPolicy: string;
  slowModeSeconds: number;
}

/**
 * The send gate: why this member may not post in this room now, or null. Decided under the room's lock, from what
 * `sendersIn` read after taking it, so it holds on every instance: a mute, block or setting committed before the
 * batch took the lock is seen, one committed after waits for the batch. Lasting refusals first, slow mode last.
 */
export function gateRefusal(room: PostingRules, sender: Sender, postedInBatch: boolean, policy: SendPolicy): DomainError | null {
  if (policy.requireVerifiedEmail && !sender.emailVerified) {
    return new DomainError("FORBIDDEN", "verify your email address before sending messages", { reason: "EMAIL_UNVERIFIED" });
  }
  if (sender.muted) return new DomainError("FORBIDDEN", "muted in this room", { reason: "MUTED" });
  if (room.postPolicy === "moderators") {
    const refused = permissionRefusal(sender.role, "announce", "POST_POLICY");
    if (refused) return refused;
  }
  if (room.kind === "direct" && sender.blocked) return new DomainError("FORBIDDEN", "you cannot message this user", { reason: "BLOCKED" });
  if (room.slowModeSeconds > 0 && !may(sender.role, "skipSlowMode")) {
    // A message of theirs earlier in this batch was sent just now.
    const since = postedInBatch ? 0 : sender.sinceLastSeconds;
    if (since !== null && since < room.slowModeSeconds) {
      return new DomainError("TOO_MANY_REQUESTS", `slow mode: one message every ${room.slowModeSeconds} seconds`, {
        reason: "SLOW_MODE",
        retryAfterSeconds: Math.max(1, Math.ceil(room.slowModeSeconds - since)),
      });
    }
  }
  return null;
}
