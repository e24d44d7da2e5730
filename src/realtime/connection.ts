import type { BucketRule } from "../config.ts";
import type { WsTicketClaims } from "../domain/auth/auth.schema.ts";
import type { DomainEvent } from "../domain/events.ts";
import type { Services } from "../domain/services.ts";
import type { EventBus, Unsubscribe } from "../infra/bus/bus.ts";
import { mapConcurrently } from "../lib/concurrency.ts";
import type { Logger } from "../lib/logger.ts";
import { CloseCode, type ServerEvent } from "./protocol.ts";
import { createFrameHandler } from "./frames.ts";
import { encodeMessage, type RoomFeed, type RoomFeeds } from "./room-feeds.ts";
import type { LocalFanout, SocketHandle } from "./socket.ts";
import { roomTopic, userTopic } from "./topics.ts";

export interface ConnectionDeps {
  services: Services;
  bus: EventBus;
  feeds: RoomFeeds;
  fanout: LocalFanout;
  logger: Logger;
  /** Missed messages replayed per room on resume; beyond it the client is told to page history itself. */
  resumeMaxMessages: number;
  /** Frames one socket may send: a burst of `capacity`, refilled over `periodSeconds`. */
  frameBudget: BucketRule;
}

export type ResumeOutcome =
  | { recovered: true; position: number }
  | { recovered: false; position: number; missed: { fromSeq: number; toSeq: number } | null };

/** One authenticated socket: which rooms it is attached to, and everything it is sent. */
export interface Connection {
  readonly id: string;
  readonly userId: string;
  readonly sessionId: string;
  /** Attaches every room of the user (replaying `resume` positions first), then sends `ready`. */
  start(resume: Record<string, number> | null): Promise<void>;
  receive(data: unknown): void;
  send(event: ServerEvent): void;
  /** Closes the socket; `ended()` follows when the runtime reports the close. */
  close(code: number, reason: string): void;
  /** The socket is gone: release rooms, bus subscriptions and presence. Idempotent. */
  ended(): void;
  /** Serialises membership changes and resumes, so a socket never attaches a room twice or out of order. */
  enqueue(task: () => Promise<void>): Promise<void>;
  /** Attaches the room at the live position, or after replaying what followed `fromSeq`. */
  attach(roomId: string, fromSeq: number | null): Promise<ResumeOutcome | null>;
  detach(roomId: string): void;
  /** Whether the socket belongs to the room (attached, or being attached). */
  inRoom(roomId: string): boolean;
  readonly closed: boolean;
}

const ROOM_ATTACH_CONCURRENCY = 16;

export function createConnection(socket: SocketHandle, claims: WsTicketClaims, deps: ConnectionDeps): Connection {
  const { services, feeds, fanout } = deps;
  const logger = deps.logger.child({ connectionId: socket.id, userId: claims.userId });
  /** Rooms the socket belongs to, with the feed it holds a reference on. */
  const retained = new Map<string, RoomFeed>();
  /** Rooms whose topic the socket is subscribed to. */
  const attached = new Set<string>();
  let queue: Promise<void> = Promise.resolve();
  let unsubscribeUser: Unsubscribe | null = null;
  let closed = false;
  let started = false;

  const connection: Connection = {
    id: socket.id,
    userId: claims.userId,
    sessionId: claims.sessionId,
    inRoom: (roomId) => retained.has(roomId),
    get closed() {
      return closed;
    },
    send: (event) => socket.send(JSON.stringify(event)),
    close: (code, reason) => socket.close(code, reason),
    enqueue(task) {
      const next = queue.then(async () => {
        if (!closed) await task();
      });
      queue = next.catch((error: unknown) => logger.error("realtime task failed", { error }));
      return next;
    },
    start: (resume) =>
      connection.enqueue(async () => {
        unsubscribeUser = await deps.bus.subscribe(userTopic(claims.userId), onUserEvent);
        if (closed) return releaseUser();
        const roomIds = await services.rooms.roomIdsOf(claims.userId);
        const positions = await mapConcurrently(roomIds, ROOM_ATTACH_CONCURRENCY, async (roomId) => {
          const from = resume?.[roomId];
          const outcome = await connection.attach(roomId, from ?? null);
          if (outcome && from !== undefined) connection.send(resumedEvent(roomId, outcome));
          return { roomId, lastSeq: outcome?.position ?? 0 };
        });
        for (const roomId of Object.keys(resume ?? {})) {
          if (!retained.has(roomId)) {
            connection.send({ type: "error", code: "FORBIDDEN", message: "not a member of this room", roomId });
          }
        }
        if (closed) return;
        started = true;
        connection.send({ type: "ready", connectionId: socket.id, userId: claims.userId, rooms: positions });
        await services.presence.connected(claims.userId, socket.id);
      }),
    receive: (data) => receive(data),
    async attach(roomId, fromSeq) {
      let feed = retained.get(roomId);
      if (!feed) {
        feed = await feeds.retain(roomId);
        retained.set(roomId, feed);
        if (closed) {
          connection.detach(roomId);
          return null;
        }
      }
      // Re-attaching (a resume frame): leave the topic so replayed history cannot interleave with live events.
      if (attached.delete(roomId)) fanout.unsubscribe(socket, feed.topic);
      const attachNow = (): void => {
        if (closed || !retained.has(roomId)) return;
        fanout.subscribe(socket, feed.topic);
        attached.add(roomId);
      };
      if (fromSeq === null) {
        attachNow();
        return { recovered: true, position: feed.position() };
      }
      return replay(feed, fromSeq, attachNow);
    },
    detach(roomId) {
      if (attached.delete(roomId)) fanout.unsubscribe(socket, roomTopic(roomId));
      if (retained.delete(roomId)) feeds.release(roomId);
    },
    ended() {
      if (closed) return;
      closed = true;
      releaseUser();
      for (const roomId of [...retained.keys()]) connection.detach(roomId);
      if (started) {
        services.presence
          .disconnected(claims.userId, socket.id)
          .catch((error: unknown) => logger.warn("presence not updated on disconnect", { error }));
      }
    },
  };

  const receive = createFrameHandler(connection, { services, logger, onResume: resumeRooms, budget: deps.frameBudget });

  function releaseUser(): void {
    unsubscribeUser?.();
    unsubscribeUser = null;
  }

  /**
   * Sends what followed `fromSeq` from history, then attaches at exactly the feed's position. Loops because the
   * room may move on while history is read; stops replaying (recovered: false) past the budget.
   */
  async function replay(feed: RoomFeed, fromSeq: number, attachNow: () => void): Promise<ResumeOutcome> {
    const { roomId } = feed;
    try {
      let cursor = fromSeq;
      let replayed = 0;
      for (;;) {
        if (closed) return { recovered: true, position: cursor };
        const position = feed.position();
        if (cursor > position) {
          // The client saw more than this instance has forwarded (it was on a faster one). Wait for the feed to
          // get there, unless the client claims messages that do not exist.
          const last = await services.messages.lastSeq(roomId);
          cursor = Math.min(cursor, last);
          if (cursor > feed.position()) {
            await feed.attachAt(cursor, attachNow);
            return { recovered: true, position: cursor };
          }
          continue;
        }
        if (cursor === position) {
          attachNow();
          return { recovered: true, position };
        }
        if (position - cursor > deps.resumeMaxMessages - replayed) {
          attachNow();
          return { recovered: false, position, missed: { fromSeq: cursor + 1, toSeq: position } };
        }
        const messages = await services.messages.range(roomId, cursor, position, Math.min(500, position - cursor));
        if (messages.length === 0) {
          logger.error("history is missing messages the feed forwarded", { roomId, cursor, position });
          const now = feed.position();
          attachNow();
          return { recovered: false, position: now, missed: { fromSeq: cursor + 1, toSeq: now } };
        }
        for (const message of messages) {
          if (message.seq <= cursor) continue;
          socket.send(encodeMessage(message));
          cursor = message.seq;
          replayed += 1;
        }
      }
    } catch (error) {
      logger.warn("resume could not read history", { roomId, error });
      const position = feed.position();
      attachNow();
      return { recovered: false, position, missed: fromSeq < position ? { fromSeq: fromSeq + 1, toSeq: position } : null };
    }
  }

  function resumeRooms(rooms: Record<string, number>): void {
    void connection.enqueue(async () => {
      await mapConcurrently(Object.entries(rooms), ROOM_ATTACH_CONCURRENCY, async ([roomId, fromSeq]) => {
        if (!retained.has(roomId)) {
          connection.send({ type: "error", code: "FORBIDDEN", message: "not a member of this room", roomId });
          return;
        }
        const outcome = await connection.attach(roomId, fromSeq);
        if (outcome) connection.send(resumedEvent(roomId, outcome));
      });
    });
  }

  function onUserEvent(raw: string): void {
    let event: DomainEvent;
    try {
      event = JSON.parse(raw) as DomainEvent;
    } catch {
      logger.warn("dropped an undecodable user event from the bus");
      return;
    }
    if (event.type === "session.revoked") {
      if (event.sessionId === claims.sessionId) socket.close(CloseCode.AUTH_REVOKED, "session revoked");
      return;
    }
    // Everything else on the user's topic is for all of their devices as it is (unread counts, own receipts).
    socket.send(raw);
    if (event.type !== "room.membership") return;
    const { roomId } = event;
    void connection.enqueue(async () => {
      if (event.membership === "joined") {
        if (!retained.has(roomId)) await connection.attach(roomId, event.room?.lastSeq ?? null);
      } else {
        connection.detach(roomId);
      }
    });
  }

  return connection;
}

function resumedEvent(roomId: string, outcome: ResumeOutcome): ServerEvent {
  return outcome.recovered
    ? { type: "resumed", roomId, recovered: true, missed: null }
    : { type: "resumed", roomId, recovered: false, missed: outcome.missed };
}
