import type { LoggedRoomEvent, LoggedRoomEventType, MemberRole, Message, MessagePage, Room } from "../../../src/contract.ts";
import type { ThreadPage } from "../../../src/domain/messages/messages.schema.ts";
import { errorCodeOf } from "../rpc.ts";
import { DEFAULT_BACKOFF, fullJitterDelay } from "./backoff.ts";
import type { RealtimeClient } from "./realtime-client.ts";
import { LOGGED_EVENT_TYPES } from "./room-streams.ts";
import type { BlockedUsers } from "./blocked-users.ts";
import { createRoomView, type MemberMute, type RoomActivity, type RoomView } from "./room-view.ts";

/** "loading" until the first page; "reloading" while it starts over from a fresh page; "failed" when it cannot read the room. */
export type LiveRoomViewState = "loading" | "live" | "reloading" | "failed" | "closed";

export interface LiveRoomView {
  readonly roomId: string;
  readonly state: LiveRoomViewState;
  /** The seq of the last room event the view reflects; null before the first page. */
  readonly position: number | null;
  readonly hasOlder: boolean;
  /** Resolves once the first page is in (and every event since applied); rejects when the room cannot be read or the view is closed first. */
  ready(): Promise<void>;
  /**
   * Resolves once the view is live at `seq` or past it — e.g. a fresh `messages.list`'s `lastSeq`, to compare the two
   * — and rejects when the view fails or is closed first.
   */
  reached(seq: number): Promise<void>;
  /** The main timeline, ascending — what `messages.list` answers for the same range. The same array until something changes. */
  messages(): readonly Message[];
  /** The replies to a thread's root that the view has seen since it loaded, ascending. */
  thread(rootId: string): readonly Message[];
  message(messageId: string): Message | undefined;
  /** The room's activity events received since the view started (room-view.ts: RoomView.activity). */
  activity(): readonly RoomActivity[];
  /** Roles as the events since the view's page left them (RoomView.roles). */
  roles(): ReadonlyMap<string, MemberRole | null>;
  /** Mutes as the events since the view's page left them (RoomView.mutes). */
  mutes(): ReadonlyMap<string, MemberMute | null>;
  /** The room as the latest room.updated since the view's page left it; null when none came. */
  room(): Room | null;
  /** Loads the next older page into the timeline; resolves with whether older messages remain. */
  loadOlder(): Promise<boolean>;
  /**
   * Loads a page of a thread (`messages.thread`) into `thread(rootId)`; pass the `nextCursor` it resolves with for
   * the next. Replies sent after the view loaded come by themselves; after it starts over, load the thread again.
   */
  loadThread(rootId: string, options?: { cursor?: number }): Promise<{ nextCursor: number | null }>;
  /** Called after every change (a page, an event); fits React's `useSyncExternalStore(view.subscribe, view.messages)`. */
  subscribe(listener: () => void): () => void;
  /** Stops following the room. */
  close(): void;
}

export interface LiveRoomViewOptions {
  /** Messages per page (messages.list's `limit`, 1–100). Default 50. */
  limit?: number;
}

/** What the view reads of the API (`parley.api`'s procedures, narrowed so the view can be driven by a test). */
export interface RoomViewApi {
  listMessages(input: { roomId: string; limit: number; before?: number }): Promise<MessagePage>;
  thread(input: { rootId: string; limit: number; cursor?: number }): Promise<ThreadPage>;
  me(): Promise<{ id: string }>;
}

export interface LiveRoomViewDeps extends LiveRoomViewOptions {
  roomId: string;
  realtime: Pick<RealtimeClient, "on" | "position">;
  api: RoomViewApi;
  /** The signed-in user, when the realtime client knows it (from `ready`); asked of the API otherwise. */
  userId(): string | null;
  /** Whom I blocked: their messages are shown `senderBlocked` (the view re-flags when the set changes). */
  blocked?: BlockedUsers;
  onError(error: unknown): void;
}

/** Refusals that another try will not change: the room is not (or no longer) readable. */
const FOR_GOOD = new Set(["FORBIDDEN", "NOT_FOUND", "BAD_REQUEST", "UNAUTHORIZED"]);

/**
 * A room view (room-view.ts) that follows the room: it loads the newest page through the API, applies the room's
 * events from the realtime client as they are delivered (once each, in seq order, gaps already filled), and starts
 * over from a fresh page — never guessing — when events were skipped: a `resumed` that did not recover, another
 * epoch, or a stream that moved past what the view was given. It does not connect the realtime client.
 */
export function createLiveRoomView(deps: LiveRoomViewDeps): LiveRoomView {
  const { roomId, realtime, api } = deps;
  const limit = deps.limit ?? 50;
  let view: RoomView | null = null;
  /** Events delivered before the view knew who "me" is: given to it once it does. */
  const early: LoggedRoomEvent[] = [];
  const listeners = new Set<() => void>();
  let closed = false;
  let failure: unknown = null;
  let reloading: Promise<void> | null = null;
  let again = false;
  /** Bumped whenever the timeline starts over: an older page asked for before belongs to the one before. */
  let generation = 0;
  let older: Promise<boolean> | null = null;
  const firstLoad = deferred();

  /** `reached()` calls waiting: each answers whether it is settled. */
  const waiters = new Set<() => boolean>();

  function notify(): void {
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch (error) {
        deps.onError(error);
      }
    }
    for (const waiter of [...waiters]) if (waiter()) waiters.delete(waiter);
  }

  function receive(event: LoggedRoomEvent): void {
    if (closed || event.roomId !== roomId) return;
    if (!view) return void early.push(event);
    const outcome = view.apply(event);
    if (outcome === "applied") notify();
    else if (outcome === "gap") reload();
  }

  /** The stream stands past the view: events were skipped (a position adopted from `ready` or a join). */
  function behind(): boolean {
    const streamAt = realtime.position(roomId);
    return view?.state === "live" && view.position !== null && streamAt !== undefined && streamAt > view.position;
  }

  function startOver(cause: "missed" | "reset"): void {
    view?.invalidate(cause);
    reload();
  }

  function reload(): void {
    generation += 1;
    if (closed || failure) return;
    if (reloading) {
      again = true;
      return;
    }
    reloading = loadNewest().finally(() => (reloading = null));
  }

  async function loadNewest(): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      again = false;
      try {
        view ??= await start();
        const page = await api.listMessages({ roomId, limit });
        if (closed) return;
        // Asked to start over while this page was on its way: it may be from before what caused that.
        if (again) continue;
        if (view.load(page) === "loaded" && !behind()) {
          notify();
          firstLoad.resolve();
          return;
        }
        view.invalidate("missed");
      } catch (error) {
        if (closed) return;
        deps.onError(error);
        const code = errorCodeOf(error);
        if (code !== null && FOR_GOOD.has(code)) return fail(error);
      }
      await new Promise((resolve) => setTimeout(resolve, fullJitterDelay(attempt, DEFAULT_BACKOFF)));
      if (closed) return;
    }
  }

  async function start(): Promise<RoomView> {
    const userId = deps.userId() ?? (await api.me()).id;
    const created = createRoomView({ roomId, userId, ...(deps.blocked ? { blocked: deps.blocked } : {}) });
    for (const event of early.splice(0)) created.apply(event);
    return created;
  }

  function fail(error: unknown): void {
    failure = error;
    firstLoad.reject(error);
    notify();
  }

  /** Resolves when the view is live: now, or after the reload under way. */
  async function live(): Promise<RoomView> {
    for (;;) {
      if (closed) throw new Error("the room view is closed");
      if (failure) throw failure;
      if (view?.state === "live") return view;
      if (!reloading) reload();
      await reloading;
    }
  }

  async function loadOlder(): Promise<boolean> {
    for (;;) {
      const current = await live();
      const before = current.pageBefore;
      if (before === null) return false;
      const asked = generation;
      const page = await api.listMessages({ roomId, limit, before });
      if (closed) return false;
      // The timeline started over meanwhile (its oldest message may be newer now): ask again from where it starts.
      if (asked !== generation || current.state !== "live") continue;
      if (current.load(page) === "stale") continue;
      notify();
      return current.hasOlder;
    }
  }

  async function loadThread(rootId: string, cursor: number | undefined): Promise<{ nextCursor: number | null }> {
    for (;;) {
      const current = await live();
      const [asked, requestedAt] = [generation, current.position ?? 0];
      const page = await api.thread({ rootId, limit, ...(cursor === undefined ? {} : { cursor }) });
      if (closed) return { nextCursor: null };
      if (asked !== generation || current.state !== "live" || current.loadThread(page, requestedAt) === "stale") continue;
      notify();
      return { nextCursor: page.nextCursor };
    }
  }

  const types = Object.keys(LOGGED_EVENT_TYPES) as LoggedRoomEventType[];
  const stops = [
    ...types.map((type) => realtime.on(type, receive)),
    realtime.on("resumed", (event) => {
      if (event.roomId !== roomId || (event.recovered && !event.reset)) return;
      startOver(event.reset ? "reset" : "missed");
    }),
    // `ready` and a join adopt the server's position for rooms the client could not resume.
    realtime.on("ready", () => behind() && startOver("missed")),
    realtime.on("room.membership", (event) => event.roomId === roomId && behind() && startOver("missed")),
    ...(deps.blocked
      ? [
          deps.blocked.subscribe(() => {
            if (!view) return;
            view.blockedChanged();
            notify();
          }),
        ]
      : []),
  ];
  reload();

  return {
    roomId,
    get state() {
      if (closed) return "closed";
      if (failure) return "failed";
      if (!view || view.state === "empty") return "loading";
      return view.state === "stale" ? "reloading" : "live";
    },
    get position() {
      return view?.position ?? null;
    },
    get hasOlder() {
      return view?.hasOlder ?? false;
    },
    ready: () => firstLoad.promise,
    reached: (seq) =>
      new Promise<void>((resolve, reject) => {
        const settled = (): boolean => {
          if (closed || failure) reject(closed ? new Error("the room view is closed") : failure);
          else if (view?.state === "live" && view.position !== null && view.position >= seq) resolve();
          else return false;
          return true;
        };
        if (!settled()) waiters.add(settled);
      }),
    messages: () => view?.messages() ?? NONE,
    thread: (rootId) => view?.thread(rootId) ?? NONE,
    message: (messageId) => view?.message(messageId),
    activity: () => view?.activity() ?? NO_ACTIVITY,
    roles: () => view?.roles() ?? NO_ROLES,
    mutes: () => view?.mutes() ?? NO_MUTES,
    room: () => view?.room() ?? null,
    loadOlder() {
      // One at a time: a second call while one is under way gets the same answer.
      older ??= loadOlder().finally(() => (older = null));
      return older;
    },
    loadThread: (rootId, options = {}) => loadThread(rootId, options.cursor),
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      if (closed) return;
      closed = true;
      for (const stop of stops) stop();
      listeners.clear();
      firstLoad.reject(new Error("the room view is closed"));
      notify(); // settles every reached() with the close
    },
  };
}

const NONE: readonly Message[] = [];
const NO_ACTIVITY: readonly RoomActivity[] = [];
const NO_ROLES: ReadonlyMap<string, MemberRole | null> = new Map();
const NO_MUTES: ReadonlyMap<string, MemberMute | null> = new Map();

function deferred(): { promise: Promise<void>; resolve(): void; reject(error: unknown): void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((settle, refuse) => ((resolve = settle), (reject = refuse)));
  promise.catch(() => {}); // a view nobody awaits must not report an unhandled rejection
  return { promise, resolve, reject };
}
