import { z } from "zod";
import type { PresenceStatus } from "../events.ts";
import { UserId } from "../users/users.schema.ts";

/** One user's presence as `presence.get` and `presence.set` answer it. */
export interface PresenceView {
  userId: string;
  status: PresenceStatus;
  /** When offline: when their last socket closed (null if never seen). Null while online or away. */
  lastSeenAt: string | null;
}

/** At most 200 users per call; duplicates are answered once. */
export const GetPresenceInput = z.strictObject({ userIds: z.array(UserId).min(1).max(200) });

/** `away` is the client's to set (idle, minimised); `online` sets it back. Offline is decided by the sockets. */
export const SetPresenceInput = z.strictObject({ status: z.enum(["online", "away"]) });
export type SetPresenceInput = z.infer<typeof SetPresenceInput>;
