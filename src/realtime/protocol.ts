import { z } from "zod";
import type { RoomEvent, UserEvent } from "../domain/events.ts";
import { ClientMsgId, type Message, SendOptions } from "../domain/messages/messages.schema.ts";
import { ResumePositionsSchema } from "../domain/room-log/room-log.schema.ts";
import type { DomainErrorReason } from "../lib/domain-error.ts";

/** Frames larger than this close the socket with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024;

/** Close codes the server uses; the SDK reconnects (and resumes) on all but AUTH_REVOKED and POLICY. */
export const CloseCode = {
  /** Server restart or drain: reconnect (to another instance) and resume. */
  SERVICE_RESTART: 1012,
  /** Frame larger than MAX_FRAME_BYTES. */
  TOO_BIG: 1009,
  /** Repeated malformed frames or a rate limit abused. */
  POLICY: 1008,
  /** The user's sockets on this instance are at WS_MAX_SOCKETS_PER_USER (an upgrade that opened late): retry later. */
  TRY_AGAIN_LATER: 1013,
  /** The session behind this socket was logged out or revoked: do not reconnect with it. */
  AUTH_REVOKED: 4001,
  /** The socket could not keep up (send buffer full): reconnect and resume — nothing was silently dropped. */
  SLOW_CONSUMER: 4002,
  /** No pong within the idle timeout. */
  IDLE: 4003,
} as const;

const roomId = z.uuid();
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Everything a client may send. Unknown types and unknown fields are refused with an `error` event. */
export const ClientFrame = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("send"),
    roomId,
    clientMsgId: ClientMsgId,
    // The body is validated by the same schema as messages.send inside the service call.
    body: z.string().max(64 * 1024),
    ...SendOptions,
  }),
  z.strictObject({ type: z.literal("typing"), roomId, active: z.boolean() }),
  z.strictObject({ type: z.literal("resume"), rooms: ResumePositionsSchema }),
  z.strictObject({
    type: z.literal("delivered"),
    /** Per room, the highest seq this device has received: moves the member's delivered watermark. */
    rooms: z.record(roomId, seq.min(1)).refine((rooms) => Object.keys(rooms).length <= 1000, {
      message: "at most 1000 rooms per frame",
    }),
  }),
  z.strictObject({ type: z.literal("ping"), id: z.string().max(64).optional() }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

export type ErrorCode =
  | "BAD_FRAME"
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "TOO_MANY_REQUESTS"
  | "UNAVAILABLE"
  | "INTERNAL";

/** Events only the socket layer produces. */
export type TransportEvent =
  /**
   * Sent once per connection, after the socket is attached to every room it belongs to and every room it asked
   * to resume has been replayed: from here on nothing is missed.
   */
  | { type: "ready"; connectionId: string; userId: string; rooms: { roomId: string; lastSeq: number; epoch: number }[] }
  | { type: "ack"; clientMsgId: string; message: Message }
  | {
      type: "resumed";
      roomId: string;
      /** True: every logged event after the client's seq was delivered before this event. */
      recovered: boolean;
      /** When not recovered: the range to page with `rooms.events` (or refresh with `messages.list`). */
      missed: { fromSeq: number; toSeq: number } | null;
      /** The room's stream epoch: the one the client's positions in it belong to from now on. */
      epoch: number;
      /**
       * True when the client's position was of another epoch (a restored database, a rewritten history): its view
       * of the room is not to be continued but rebuilt (`messages.list` from the end).
       */
      reset: boolean;
    }
  | {
      type: "error";
      code: ErrorCode;
      message: string;
      /** Present when the error answers a `send`. */
      clientMsgId?: string;
      /** Present when the error concerns one room (typing, resume). */
      roomId?: string;
      retryAfterSeconds?: number;
      /** The finer cause, as tRPC's `data.reason` (MUTED, BANNED, SLOW_MODE, …). */
      reason?: DomainErrorReason;
    }
  | { type: "pong"; id?: string };

/** Every event the server pushes over a socket. The SDK imports this type; it is never copied. */
export type ServerEvent = RoomEvent | UserEvent | TransportEvent;
export type ServerEventType = ServerEvent["type"];
