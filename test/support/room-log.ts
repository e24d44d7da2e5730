import type { LoggedRoomEvent } from "../../src/domain/events.ts";
import type { Message } from "../../src/domain/messages/messages.schema.ts";
import type { RoomLog } from "../../src/domain/room-log/room-log.ts";

/** Reading a room's log back in specs: its position, its events, the messages among them. */
export interface LogReader {
  /** The room's newest seq (0 for a room without events or no room at all). */
  lastSeq(roomId: string): Promise<number>;
  /** Its events with after < seq ≤ through (everything by default), as a client replaying them would see them. */
  events(roomId: string, after?: number, through?: number): Promise<LoggedRoomEvent[]>;
  /** The messages among those events, in seq order. */
  messages(roomId: string, after?: number, through?: number): Promise<Message[]>;
}

export function logReader(log: RoomLog): LogReader {
  async function events(roomId: string, after = 0, through?: number): Promise<LoggedRoomEvent[]> {
    const end = through ?? (await log.position(roomId))?.lastSeq ?? 0;
    if (end <= after) return [];
    const frames = await log.range(roomId, after, end, end - after);
    return frames.map((frame) => JSON.parse(frame.frame) as LoggedRoomEvent);
  }
  return {
    async lastSeq(roomId) {
      return (await log.position(roomId))?.lastSeq ?? 0;
    },
    events,
    async messages(roomId, after, through) {
      return (await events(roomId, after, through)).flatMap((event) => (event.type === "message.created" ? [event.message] : []));
    },
  };
}
