import type { BucketRule } from "../config.ts";
import { SendMessageInput } from "../domain/messages/messages.schema.ts";
import type { Services } from "../domain/services.ts";
import { DomainError } from "../lib/domain-error.ts";
import type { Logger } from "../lib/logger.ts";
import { ClientFrame, CloseCode, MAX_FRAME_BYTES, type ErrorCode, type ServerEvent } from "./protocol.ts";

/** What frame handling needs of its connection. */
export interface FrameTarget {
  /** The connection id: typing it starts expires when it closes. */
  readonly id: string;
  readonly userId: string;
  send(event: ServerEvent): void;
  close(code: number, reason: string): void;
  inRoom(roomId: string): boolean;
}

export interface FrameHandlerDeps {
  services: Services;
  logger: Logger;
  onResume(rooms: Record<string, number>): void;
  /** Frames a socket may send: a burst of `capacity`, refilled at `perSecond`. */
  budget: BucketRule;
}

/** Malformed or over-budget frames tolerated per connection before it is closed with 1008. */
const MAX_STRIKES = 10;

/**
 * Turns raw socket messages into service calls. Nothing a client sends can throw out of here: every bad frame
 * is answered with an `error` event, and a socket that keeps sending them is closed.
 */
export function createFrameHandler(target: FrameTarget, deps: FrameHandlerDeps): (data: unknown) => void {
  let strikes = 0;
  let tokens = deps.budget.capacity;
  let refilledAt = Date.now();

  function reject(code: ErrorCode, message: string, extra: { clientMsgId?: string; roomId?: string } = {}): void {
    strikes += 1;
    if (strikes > MAX_STRIKES) return target.close(CloseCode.POLICY, "too many invalid frames");
    target.send({ type: "error", code, message, ...extra });
  }

  function withinBudget(): boolean {
    const now = Date.now();
    const perSecond = deps.budget.capacity / deps.budget.periodSeconds;
    tokens = Math.min(deps.budget.capacity, tokens + ((now - refilledAt) / 1000) * perSecond);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  function fail(error: unknown, extra: { clientMsgId?: string; roomId?: string }): void {
    if (error instanceof DomainError) {
      target.send({
        type: "error",
        code: error.code,
        message: error.message,
        ...extra,
        ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
      });
      return;
    }
    deps.logger.error("frame handling failed", { error });
    target.send({ type: "error", code: "INTERNAL", message: "internal error", ...extra });
  }

  async function dispatch(frame: ClientFrame): Promise<void> {
    switch (frame.type) {
      case "ping":
        return target.send(frame.id === undefined ? { type: "pong" } : { type: "pong", id: frame.id });
      case "send": {
        const input = SendMessageInput.safeParse({ roomId: frame.roomId, clientMsgId: frame.clientMsgId, body: frame.body });
        if (!input.success) {
          return reject("BAD_REQUEST", input.error.issues[0]?.message ?? "invalid message", { clientMsgId: frame.clientMsgId });
        }
        try {
          const { message } = await deps.services.messages.send(target.userId, input.data);
          target.send({ type: "ack", clientMsgId: frame.clientMsgId, message });
        } catch (error) {
          fail(error, { clientMsgId: frame.clientMsgId });
        }
        return;
      }
      case "typing":
        if (!target.inRoom(frame.roomId)) return reject("FORBIDDEN", "not a member of this room", { roomId: frame.roomId });
        try {
          await deps.services.presence.typing(target.userId, frame.roomId, frame.active, target.id);
        } catch (error) {
          fail(error, { roomId: frame.roomId });
        }
        return;
      case "resume":
        return deps.onResume(frame.rooms);
      case "delivered":
        await Promise.all(
          Object.entries(frame.rooms).map(async ([roomId, seq]) => {
            if (!target.inRoom(roomId)) return reject("FORBIDDEN", "not a member of this room", { roomId });
            try {
              await deps.services.receipts.markDelivered(target.userId, { roomId, seq });
            } catch (error) {
              fail(error, { roomId });
            }
          }),
        );
        return;
    }
  }

  return (data) => {
    if (strikes > MAX_STRIKES) return; // closing: ignore whatever is still in flight
    if (typeof data !== "string") return reject("BAD_FRAME", "binary frames are not supported; send JSON text");
    if (data.length > MAX_FRAME_BYTES || (data.length * 3 > MAX_FRAME_BYTES && utf8Length(data) > MAX_FRAME_BYTES)) {
      // Bun and ws close oversized frames before we see them; this covers runtimes that do not (Deno).
      return target.close(CloseCode.TOO_BIG, "frame too large");
    }
    if (!withinBudget()) return reject("TOO_MANY_REQUESTS", "too many frames; slow down");
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return reject("BAD_FRAME", "frames must be JSON");
    }
    const frame = ClientFrame.safeParse(json);
    if (!frame.success) {
      const issue = frame.error.issues[0];
      return reject("BAD_FRAME", issue ? `${issue.path.join(".") || "frame"}: ${issue.message}` : "invalid frame");
    }
    dispatch(frame.data).catch((error: unknown) => fail(error, {}));
  };
}

function utf8Length(value: string): number {
  return new TextEncoder().encode(value).length;
}
