import type { BucketRule } from "../config.ts";
import type { WsTicketClaims } from "../domain/auth/auth.schema.ts";
import type { DomainEvent } from "../domain/events.ts";
import type { ResumePosition, ResumePositions } from "../domain/room-log/room-log.schema.ts";
import type { Services } from "../domain/services.ts";
import type { EventBus, Unsubscribe } from "../infra/bus/bus.ts";
import { mapConcurrently } from "../lib/concurrency.ts";
import type { Logger } from "../lib/logger.ts";
import { CloseCode, type ServerEvent } from "./protocol.ts";
import { FrameHandler } from "./frames.ts";
import type { RoomFeed, RoomFeeds } from "./room-feeds.ts";
import type { RealtimeCounters } from "./counters.ts";
import { replayRoom, type ReplayDeps, type ReplayTarget, type ResumeOutcome } from "./replay.ts";
import type { PresenceScreen, ScreenedSocket } from "./presence-screen.ts";
import type { LocalFanout, SocketHandle } from "./socket.ts";
import { roomTopic, userTopic } from "./topics.ts";

/** Shared by every connection of a hub (one object, not one per socket). */
export interface ConnectionDeps extends ReplayDeps, Pick<RealtimeCounters, "onResume"> {
  services: Services;
  bus: EventBus;
  feeds: RoomFeeds;
  fanout: LocalFanout;
  logger: Logger;
  /** Frames one socket may send: a burst of `capacity`, refilled over `periodSeconds`. */
  frameBudget: BucketRule;
  /** Whose presence and typing each socket must not get (blocks, either way). */
  screen: PresenceScreen;
}

/** One authenticated socket: which rooms it is attached to, and everything it is sent. */
export interface Connection {
  readonly id: string;
  readonly userId: string;
  readonly sessionId: string;
  /** Attaches every room of the user (replaying `resume` positions first), then sends `ready`. */
  start(resume: ResumePositions | null): Promise<void>;
  receive(data: unknown): void;
  send(event: ServerEvent): void;
  /** Closes the socket; `ended()` follows when the runtime reports the close. */
  close(code: number, reason: string): void;
  /** The socket is gone: release rooms, bus subscriptions and presence. Idempotent. */
  ended(): void;
  /** Serialises membership changes and resumes, so a socket never attaches a room twice or out of order. */
  enqueue(task: () => Promise<void>): Promise<void>;
  /** Attaches the room at the live position, or after replaying what followed `from` (of the room's epoch). */
  attach(roomId: string, from: ResumePosition | null): Promise<ResumeOutcome | null>;
  detach(roomId: string): void;
  /** Whether the socket belongs to the room (attached, or being attached). */
  inRoom(roomId: string): boolean;
  readonly closed: boolean;
}

const ROOM_ATTACH_CONCURRENCY = 16;

export function createConnection(socket: SocketHandle, claims: WsTicketClaims, deps: ConnectionDeps): Connection {
  return new SocketConnection(socket, claims, deps);
}

/**
 * A class, not a closure-built object: an instance holds only its state and shares its methods, which matters
 * at tens of thousands of sockets per instance (see BENCHMARKS.md, idle sockets).
 */
class SocketConnection implements Connection, ReplayTarget, ScreenedSocket {
  readonly id: string;
  readonly userId: string;
  readonly sessionId: string;
  /** Rooms the socket belongs to, with the feed it holds a reference on. */
  private readonly retained = new Map<string, RoomFeed>();
  /** Rooms whose topic the socket is subscribed to. */
  private readonly attached = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private unsubscribeUser: Unsubscribe | null = null;
  private isClosed = false;
  private started = false;
  private readonly frames: FrameHandler;

  constructor(
    readonly socket: SocketHandle,
    claims: WsTicketClaims,
    private readonly deps: ConnectionDeps,
  ) {
    this.id = socket.id;
    this.userId = claims.userId;
    this.sessionId = claims.sessionId;
    this.frames = new FrameHandler(this, {
      services: deps.services,
      logger: deps.logger,
      onResume: (rooms) => this.resumeRooms(rooms),
      budget: deps.frameBudget,
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Made on demand: a logger per socket would cost every idle socket its closures. */
  get logger(): Logger {
    return this.deps.logger.child({ connectionId: this.id, userId: this.userId });
  }

  inRoom(roomId: string): boolean {
    return this.retained.has(roomId);
  }

  subscribedTo(roomId: string): boolean {
    return this.attached.has(roomId);
  }

  send(event: ServerEvent): void {
    this.socket.send(JSON.stringify(event));
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  receive(data: unknown): void {
    this.frames.receive(data);
  }

  enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(async () => {
      if (!this.isClosed) await task();
    });
    this.queue = next.catch((error: unknown) => this.logger.error("realtime task failed", { error }));
    return next;
  }

  start(resume: ResumePositions | null): Promise<void> {
    return this.enqueue(async () => {
      this.unsubscribeUser = await this.deps.bus.subscribe(userTopic(this.userId), (raw) => this.onUserEvent(raw));
      if (this.isClosed) return this.releaseUser();
      // The block set before any room: the first presence frame the socket gets is already screened.
      const [roomIds, hidden] = await Promise.all([this.deps.services.rooms.roomIdsOf(this.userId), this.deps.services.blocks.hiddenFrom(this.userId)]);
      if (this.isClosed) return this.releaseUser();
      this.deps.screen.set(this, hidden);
      const positions = await mapConcurrently(roomIds, ROOM_ATTACH_CONCURRENCY, async (roomId) => {
        const from = resume?.[roomId];
        const outcome = await this.attach(roomId, from ?? null);
        if (outcome && from !== undefined) this.sendResumed(roomId, outcome);
        return { roomId, lastSeq: outcome?.position ?? 0, epoch: this.retained.get(roomId)?.epoch() ?? 0 };
      });
      for (const roomId of Object.keys(resume ?? {})) {
        if (!this.retained.has(roomId)) this.send({ type: "error", code: "FORBIDDEN", message: "not a member of this room", roomId });
      }
      if (this.isClosed) return;
      this.started = true;
      this.send({ type: "ready", connectionId: this.id, userId: this.userId, rooms: positions });
      await this.deps.services.presence.connected(this.userId, this.id);
    });
  }

  async attach(roomId: string, from: ResumePosition | null): Promise<ResumeOutcome | null> {
    let feed = this.retained.get(roomId);
    if (!feed) {
      feed = await this.deps.feeds.retain(roomId);
      this.retained.set(roomId, feed);
      if (this.isClosed) {
        this.detach(roomId);
        return null;
      }
    }
    // Re-attaching (a resume frame): leave the topic so replayed history cannot interleave with live events.
    if (this.attached.delete(roomId)) this.deps.fanout.unsubscribe(this.socket, feed.topic);
    const attachNow = (): void => {
      if (this.isClosed || !this.retained.has(roomId)) return;
      this.deps.fanout.subscribe(this.socket, feed.topic);
      this.attached.add(roomId);
    };
    if (from === null) {
      attachNow();
      return { recovered: true, position: feed.position() };
    }
    if (from.epoch !== feed.epoch()) {
      // A position in another epoch's stream means nothing here: start the client over, explicitly.
      attachNow();
      const position = feed.position();
      return { recovered: false, position, missed: position > 0 ? { fromSeq: 1, toSeq: position } : null, reset: true };
    }
    return replayRoom(this, feed, from.seq, attachNow, this.deps);
  }

  detach(roomId: string): void {
    if (this.attached.delete(roomId)) this.deps.fanout.unsubscribe(this.socket, roomTopic(roomId));
    if (this.retained.delete(roomId)) this.deps.feeds.release(roomId);
  }

  ended(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.releaseUser();
    this.deps.screen.forget(this);
    for (const roomId of [...this.retained.keys()]) this.detach(roomId);
    if (this.started) {
      this.deps.services.presence
        .disconnected(this.userId, this.id)
        .catch((error: unknown) => this.logger.warn("presence not updated on disconnect", { error }));
    }
  }

  /**
   * Re-reads whose presence and typing this socket must not get: after a commit, so the read sees it; in the
   * socket's queue, so two changes cannot land out of order. Kept as it was if the read fails (logged).
   */
  private rereadBlocks(): void {
    void this.enqueue(async () => {
      const hidden = await this.deps.services.blocks.hiddenFrom(this.userId);
      if (!this.isClosed) this.deps.screen.set(this, hidden);
    });
  }

  private releaseUser(): void {
    this.unsubscribeUser?.();
    this.unsubscribeUser = null;
  }

  /** Tells the client how its resume of a room went, and counts it (a replay cut short by a close is not a resume). */
  private sendResumed(roomId: string, outcome: ResumeOutcome): void {
    if (this.isClosed || this.socket.closing) return;
    this.deps.onResume?.(outcome.recovered ? "recovered" : outcome.reset ? "reset" : "not_recovered");
    this.send(resumedEvent(roomId, outcome, this.retained.get(roomId)?.epoch() ?? 0));
  }

  private resumeRooms(rooms: ResumePositions): void {
    void this.enqueue(async () => {
      await mapConcurrently(Object.entries(rooms), ROOM_ATTACH_CONCURRENCY, async ([roomId, from]) => {
        if (!this.retained.has(roomId)) {
          this.send({ type: "error", code: "FORBIDDEN", message: "not a member of this room", roomId });
          return;
        }
        const outcome = await this.attach(roomId, from);
        if (outcome) this.sendResumed(roomId, outcome);
      });
    });
  }

  private onUserEvent(raw: string): void {
    let event: DomainEvent;
    try {
      event = JSON.parse(raw) as DomainEvent;
    } catch {
      this.logger.warn("dropped an undecodable user event from the bus");
      return;
    }
    if (event.type === "session.revoked") {
      if (event.sessionId === this.sessionId) this.socket.close(CloseCode.AUTH_REVOKED, "session revoked");
      return;
    }
    if (event.type === "blocks.changed") return this.rereadBlocks(); // someone blocked or unblocked me: not told who
    if (event.type === "block.updated") this.rereadBlocks();
    // Everything else on the user's topic is for all of their devices as it is (unread counts, own receipts).
    this.socket.send(raw);
    if (event.type !== "room.membership") return;
    const { roomId } = event;
    void this.enqueue(async () => {
      if (event.membership === "joined") {
        if (!this.retained.has(roomId)) await this.attach(roomId, event.room ? { seq: event.room.lastSeq, epoch: event.room.epoch } : null);
      } else {
        this.detach(roomId);
      }
    });
  }
}

function resumedEvent(roomId: string, outcome: ResumeOutcome, epoch: number): ServerEvent {
  return outcome.recovered
    ? { type: "resumed", roomId, recovered: true, missed: null, epoch, reset: false }
    : { type: "resumed", roomId, recovered: false, missed: outcome.missed, epoch, reset: outcome.reset };
}
