import { z } from "zod";
import type { PresenceStatus } from "../events.ts";
import { pageCursor, PgTimestampText } from "../rooms/page-cursor.ts";
import type { Page } from "../rooms/rooms.schema.ts";
import { UserId, type UserPublic } from "../users/users.schema.ts";

/**
 * Where two people stand, from one side: `incoming` — they asked me; `outgoing` — I asked them; `friends` —
 * both rows exist; `none` — nothing.
 */
export type FriendState = "none" | "incoming" | "outgoing" | "friends";

/** One of my friends, with their presence now (friends see each other's presence, shared room or not). */
export interface Friend {
  user: UserPublic;
  /** When we became friends. */
  since: string;
  status: PresenceStatus;
  /** When offline: when their last socket closed (null if never seen). Null while online or away. */
  lastSeenAt: string | null;
}

/** A pending request, with the other person. */
export interface FriendRequest {
  user: UserPublic;
  createdAt: string;
}

/** `friends.requests`: the newest 100 each way. */
export interface FriendRequests {
  incoming: FriendRequest[];
  outgoing: FriendRequest[];
}

export type FriendPage = Page<Friend>;

/** Every friends.* call that names someone names them by id, nothing else. */
export const FriendTarget = z.strictObject({ userId: UserId });
export type FriendTarget = z.infer<typeof FriendTarget>;

/** Friends page newest friendship first, by (created_at, id). */
export const ListFriendsInput = z
  .strictObject({
    cursor: pageCursor(PgTimestampText).optional(),
    limit: z.number().int().min(1).max(100).default(50),
  })
  .default({ limit: 50 });
export type ListFriendsInput = z.infer<typeof ListFriendsInput>;
