/** The one error services throw. Each transport maps `code` once (tRPC code, WebSocket error frame / close code). */
export type DomainErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "TOO_MANY_REQUESTS"
  | "UNAVAILABLE";

/**
 * Finer causes a client can act on, beyond the code; sent as `data.reason` (tRPC) or `reason` (socket error frame).
 * ROOM_FULL: the room has its maxMembers (else ROOM_MAX_MEMBERS) members. ROOM_LIMIT: the user is in USER_MAX_ROOMS rooms.
 * EDIT_WINDOW: MESSAGE_EDIT_WINDOW_SECONDS have passed. REACTION_LIMIT: too many emoji on the message (or mine on it).
 * PIN_LIMIT: the room has the most pinned messages it may have. LAST_OWNER: the change would leave a room with
 * members but no owner (transfer ownership first). BANNED: banned from the room. MUTED: muted in the room.
 * BLOCKED: one of the two people blocked the other. DM_POLICY: the person accepts direct rooms from friends or nobody.
 * INVITE_LINK: the invite link is unknown, revoked, expired or used up. SLOW_MODE: the room's slow mode (with
 * retryAfterSeconds). POST_POLICY: only moderators and up post in this (announcement) room.
 * FILE_TYPE: the type is not accepted (or the name's extension contradicts it). FILE_TOO_LARGE: over FILES_MAX_BYTES,
 * or an image of more than 40 megapixels. STORAGE_QUOTA: USER_STORAGE_QUOTA_MB is used up. ATTACHMENTS_OFF: the room
 * takes no attachments. UPLOAD_MISSING: files.complete before the upload arrived. FILE_CONTENT: the stored bytes are
 * not the declared file, or an image that does not decode (removed).
 * EMAIL_TOKEN: the link's token is unknown, used, expired or for an address the account no longer has.
 * EMAIL_UNVERIFIED: the server requires a verified email address before sending (REQUIRE_VERIFIED_EMAIL).
 */
export type DomainErrorReason =
  | "ROOM_FULL"
  | "ROOM_LIMIT"
  | "EDIT_WINDOW"
  | "REACTION_LIMIT"
  | "PIN_LIMIT"
  | "LAST_OWNER"
  | "BANNED"
  | "MUTED"
  | "BLOCKED"
  | "DM_POLICY"
  | "INVITE_LINK"
  | "SLOW_MODE"
  | "POST_POLICY"
  | "FILE_TYPE"
  | "FILE_TOO_LARGE"
  | "STORAGE_QUOTA"
  | "ATTACHMENTS_OFF"
  | "UPLOAD_MISSING"
  | "FILE_CONTENT"
  | "FILE_NOT_READY"
  | "FILE_ATTACHED"
  | "ATTACHMENT_ROOM"
  | "EMAIL_TOKEN"
  | "EMAIL_UNVERIFIED";

export interface DomainErrorDetails {
  /** Seconds until a refused call may succeed (TOO_MANY_REQUESTS, UNAVAILABLE). */
  retryAfterSeconds?: number;
  reason?: DomainErrorReason;
}

export class DomainError extends Error {
  readonly retryAfterSeconds: number | undefined;
  readonly reason: DomainErrorReason | undefined;

  /** `details` may be just the retry-after seconds. */
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    details: number | DomainErrorDetails = {},
  ) {
    super(message);
    this.name = "DomainError";
    const { retryAfterSeconds, reason } = typeof details === "number" ? { retryAfterSeconds: details, reason: undefined } : details;
    this.retryAfterSeconds = retryAfterSeconds;
    this.reason = reason;
  }
}
