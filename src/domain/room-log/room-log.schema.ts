import { z } from "zod";
import type { LoggedRoomEvent } from "../events.ts";

const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** `rooms.events`: the room's logged events after `after`, for a client catching up past the resume budget. */
export const RoomEventsInput = z.strictObject({
  roomId: z.uuid(),
  after: seq,
  limit: z.number().int().min(1).max(500).default(100),
});
export type RoomEventsInput = z.infer<typeof RoomEventsInput>;

export interface RoomEventPage {
  /** Ascending by seq, each built from the current state of what it is about. */
  events: LoggedRoomEvent[];
  /** The room's position when the page was read: page on while the last event's seq is below it. */
  lastSeq: number;
  epoch: number;
  hasMore: boolean;
}

/** Where a client is in one room's stream: the last seq it has, of which epoch. (A plain type: it is in the contract.) */
export interface ResumePosition {
  seq: number;
  epoch: number;
}
/** Rooms to resume (by id), with where the client is in each. */
export type ResumePositions = Record<string, ResumePosition>;

export const ResumePositionSchema = z.strictObject({ seq, epoch: z.number().int().min(0).max(2_147_483_647) }) satisfies z.ZodType<ResumePosition>;

/** At most 1000 rooms per ticket or `resume` frame. */
export const ResumePositionsSchema = z.record(z.uuid(), ResumePositionSchema).refine((rooms) => Object.keys(rooms).length <= 1000, {
  message: "at most 1000 rooms per resume",
}) satisfies z.ZodType<ResumePositions>;
