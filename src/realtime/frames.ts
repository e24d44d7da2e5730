import type { BucketRule } from "../config.ts";
import type { ResumePositions } from "../domain/room-log/room-log.schema.ts";
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
  onResume(rooms: ResumePositions): void;
  /** Frames a socket may send: a burst of `capacity`, refilled at `perSecond`. */
  budget: BucketRule;
}

/** Malformed or over-budget frames tolerated per connection before it is closed with 1008. */
const MAX_STRIKES = 10;

/**
 * Turns raw socket messages into service calls. Nothing a client sends can throw out of here: every bad frame
 * is answered with an `error` event, and a socket that keeps sending them is closed. One per socket; a class so
 * an idle socket carries only its counters.
 */
export class FrameHandler {
  private strikes = 0;
  private tokens: number;
  private refilledAt = Date.now();

  constructor(
    private readonly target: FrameTarget,
    private readonly deps: FrameHandlerDeps,
  ) {
    this.tokens = deps.budget.capacity;
  }

  receive(data: unknown): void {
    if (this.strikes > MAX_STRIKES) return; // closing: ignore whatever is still in flight
    if (typeof data !== "string") return this.reject("BAD_FRAME", "binary frames are not supported; send JSON text");
    if (data.length > MAX_FRAME_BYTES || (data.length * 3 > MAX_FRAME_BYTES && utf8Length(data) > MAX_FRAME_BYTES)) {
      // Bun and ws close oversized frames before we see them; this covers runtimes that do not (Deno).
      return this.target.close(CloseCode.TOO_BIG, "frame too large");
    }
    if (!this.withinBudget()) return this.reject("TOO_MANY_REQUESTS", "too many frames; slow down");
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return this.reject("BAD_FRAME", "frames must be JSON");
    }
    const frame = ClientFrame.safeParse(json);
    if (!frame.success) {
      const issue = frame.error.issues[0];
      return this.reject("BAD_FRAME", issue ? `${issue.path.join(".") || "frame"}: ${issue.message}` : "invalid frame");
    }
    this.dispatch(frame.data).catch((error: unknown) => this.fail(error, {}));
  }

  private reject(code: ErrorCode, message: string, extra: { clientMsgId?: string; roomId?: string } = {}): void {
    this.strikes += 1;
    if (this.strikes > MAX_STRIKES) return this.target.close(CloseCode.POLICY, "too many invalid frames");
    this.target.send({ type: "error", code, message, ...extra });
  }

  private withinBudget(): boolean {
    const now = Date.now();
    const { capacity, periodSeconds } = this.deps.budget;
    this.tokens = Math.min(capacity, this.tokens + ((now - this.refilledAt) / 1000) * (capacity / periodSeconds));
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private fail(error: unknown, extra: { clientMsgId?: string; roomId?: string }): void {
    if (error instanceof DomainError) {
      this.target.send({
        type: "error",
        code: error.code,
        message: error.message,
        ...extra,
        ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
        ...(error.reason !== undefined ? { reason: error.reason } : {}),
      });
      return;
    }
    this.deps.logger.error("frame handling failed", { error });
    this.target.send({ type: "error", code: "INTERNAL", message: "internal error", ...extra });
  }

  private async dispatch(frame: ClientFrame): Promise<void> {
    const { target, deps } = this;
    switch (frame.type) {
      case "ping":
        return target.send(frame.id === undefined ? { type: "pong" } : { type: "pong", id: frame.id });
      case "send":
        try {
          // The service validates the body with the same schema as messages.send (a BAD_REQUEST DomainError).
          const { type: _send, ...input } = frame;
          const { message } = await deps.services.messages.send(target.userId, input);
          target.send({ type: "ack", clientMsgId: frame.clientMsgId, message });
        } catch (error) {
          this.fail(error, { clientMsgId: frame.clientMsgId });
        }
        return;
      case "typing":
        if (!target.inRoom(frame.roomId)) return this.reject("FORBIDDEN", "not a member of this room", { roomId: frame.roomId });
        try {
          await deps.services.presence.typing(target.userId, frame.roomId, frame.active, target.id);
        } catch (error) {
          this.fail(error, { roomId: frame.roomId });
        }
        return;
      case "resume":
        return deps.onResume(frame.rooms);
      case "delivered":
        await Promise.all(
          Object.entries(frame.rooms).map(async ([roomId, seq]) => {
            if (!target.inRoom(roomId)) return this.reject("FORBIDDEN", "not a member of this room", { roomId });
            try {
              await deps.services.receipts.markDelivered(target.userId, { roomId, seq });
            } catch (error) {
              this.fail(error, { roomId });
            }
          }),
        );
        return;
    }
  }
}

function utf8Length(value: string): number {
  return new TextEncoder().encode(value).length;
}
