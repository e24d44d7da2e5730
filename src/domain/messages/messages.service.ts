import type { BucketRule } from "../../config.ts";
import type { Database } from "../../infra/db/database.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher } from "../events.ts";
import type { RoomService } from "../rooms/rooms.service.ts";
import type { ListMessagesInput, Message, MessagePage, SendMessageInput } from "./messages.schema.ts";

export type SendOutcome = { message: Message; created: true } | { message: Message; created: false };

export interface MessageService {
  /**
   * Commits the message with the room's next seq, then publishes `message.created`. Resolves only after the commit.
   * Idempotent on (sender, clientMsgId): a retry returns the original and publishes nothing
   * (CONFLICT if that id was used for a different room or body).
   */
  send(userId: string, input: SendMessageInput): Promise<SendOutcome>;
  list(userId: string, input: ListMessagesInput): Promise<MessagePage>;
  /**
   * Messages of a room with afterSeq < seq ≤ throughSeq, ascending, at most `limit`. No membership check:
   * for the realtime layer, which has checked membership already.
   */
  range(roomId: string, afterSeq: number, throughSeq: number, limit: number): Promise<Message[]>;
  /** The room's current last seq (0 for an empty or unknown room). */
  lastSeq(roomId: string): Promise<number>;
}

export interface MessageServiceDeps {
  database: Database;
  rooms: RoomService;
  events: EventPublisher;
  rateLimiter: RateLimiter;
  logger: Logger;
  sendRate: BucketRule;
}

export function createMessageService(deps: MessageServiceDeps): MessageService {
  void deps;
  throw new Error("not implemented yet");
}
