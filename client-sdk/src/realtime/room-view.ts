import type { LoggedRoomEvent, MemberRole, Message, MessagePage, Room } from "../../../src/contract.ts";
// Not in src/contract.ts yet (what `messages.thread` answers); a plain interface, so the bundle takes it as it is.
import type { ThreadPage } from "../../../src/domain/messages/messages.schema.ts";
import { isAboutMessages, type MessageEvent, messageChangeOf, onMainTimeline } from "./message-changes.ts";

/**
 * A logged event about the room and its people rather than a message: a join, a leave (left, removed, banned), a
 * role change, a mute, a change of the room's name or settings — what a chat shows as a system line.
 */
export type RoomActivity = Exclude<LoggedRoomEvent, MessageEvent>;

/**
 * "empty": no page yet (events are kept until one comes). "live": every event up to `position` is applied.
 * "stale": an event was missed (a gap, a resume that could not recover, another epoch): what it shows is the last
 * consistent state, and a fresh newest page must start it over.
 */
export type RoomViewState = "empty" | "live" | "stale";

/** What `apply` did: "held" — kept until a page seeds the view; "gap" — events are missing before it, the view is stale. */
export type ApplyOutcome = "applied" | "duplicate" | "held" | "gap";

/** What `load` did: "stale" — the page cannot be used (too old for the events the view kept, or a gap after it): fetch again. */
export type LoadOutcome = "loaded" | "stale";

export interface RoomView {
  readonly roomId: string;
  readonly state: RoomViewState;
  /** The seq of the last event the view reflects: every event of the room up to it, none after. Null before a page. */
  readonly position: number | null;
  /** Whether the room has messages older than the oldest on the timeline. */
  readonly hasOlder: boolean;
  /** `before` for the next older page (`messages.list {roomId, before}`); null when there is none. */
  readonly pageBefore: number | null;
  /** Applies one logged event of the room; events must come in seq order (the realtime client's room streams do). */
  apply(event: LoggedRoomEvent): ApplyOutcome;
  /**
   * A page of `messages.list`. An empty or stale view starts over from it (it must be the newest page, `hasNewer`
   * false) and applies the events it kept that came after the page. A live view merges it: an older page (`before:
   * pageBefore`) extends the timeline back; the events since the page was read are applied to its messages again.
   */
  load(page: MessagePage): LoadOutcome;
  /** A page of `messages.thread`, asked for when the view stood at `requestedAt` (its `position` then). */
  loadThread(page: ThreadPage, requestedAt: number): LoadOutcome;
  /** Stops applying events until a page starts the view over: "missed" (events were skipped) or "reset" (another epoch). */
  invalidate(cause: "missed" | "reset"): void;
  /** The main timeline, ascending by seq — what `messages.list` answers for the same range. The same array until a change. */
  messages(): readonly Message[];
  /** The replies to `rootId` the view has seen (from events since its page, and thread pages loaded), ascending. */
  thread(rootId: string): readonly Message[];
  message(messageId: string): Message | undefined;
  /**
   * The room's activity events the view received since it was created — live, or replayed after a reconnect —
   * ascending by seq, at most the latest ACTIVITY_LIMIT. Events a reconnect could not replay (the view started over
   * from a page) are not in it. The same array until one comes.
   */
  activity(): readonly RoomActivity[];
  /**
   * What the events since the view's page say of members' roles: a joiner's role, a new role, null once they left or
   * were removed or banned. Members no event mentioned are absent (`rooms.members` has them). Starts over with the view.
   */
  roles(): ReadonlyMap<string, MemberRole | null>;
  /**
   * What the events since the view's page say of mutes: `{until}` for a member muted (until null: until unmuted),
   * null once unmuted. A mute that expires by itself is no event: compare `until` with the clock. Members no event
   * mentioned are absent (`rooms.mutes` has them). Starts over with the view.
   */
  mutes(): ReadonlyMap<string, MemberMute | null>;
  /** The room as the latest `room.updated` since the view's page left it (name, description, settings); null when none came. */
  room(): Room | null;
  /** The blocked set changed (block.updated, a fresh users.blocked): messages are flagged again from it. */
  blockedChanged(): void;
}

/** Whom the reader blocked, when known (see blocked-users.ts); until then the server's `senderBlocked` stands. */
export interface BlockedSenders {
  known(): boolean;
  has(userId: string): boolean;
}

/** A member's mute as a `member.muted` event said it. */
export interface MemberMute {
  until: string | null;
}

export interface RoomViewOptions {
  roomId: string;
  /** The signed-in user: their own reaction events set `me` on the reactions they touch. */
  userId: string;
  /** The newest page of `messages.list` to start from. */
  page?: MessagePage;
  /**
   * Whom the signed-in user blocked: their messages are shown with `senderBlocked: true` (pushed events, which every
   * member shares, never carry it). Without it, only what pages said is flagged.
   */
  blocked?: BlockedSenders;
}

/** Events kept for applying again to pages that were read before them (and while the view waits for a page). */
const JOURNAL_LIMIT = 2000;

/** Activity events a view keeps: enough system lines for any screen, bounded for a room that is mostly joins. */
export const ACTIVITY_LIMIT = 500;

/**
 * A room as its log has made it, on the client: the messages with their edits, tombstones, reactions (with `me`
 * right for the signed-in user), pins, thread summaries and quotes that follow their targets. Pure: it is fed
 * pages and events and calls nothing (createLiveRoomView feeds one from the realtime client and the API).
 *
 * Converges: a view seeded from a page and then given the room's events after it — live, replayed after a
 * reconnect, repeated — shows what a fresh `messages.list` of the same range shows. Events set values rather than
 * add to them (see message-changes.ts), and anything at or before `position` is a duplicate.
 */
export function createRoomView(options: RoomViewOptions): RoomView {
  const { roomId, userId, blocked } = options;
  let state: RoomViewState = "empty";
  let position: number | null = null;
  /** The lowest seq the timeline reaches (0: the room's beginning); null before a page. */
  let floor: number | null = null;
  let hasOlder = false;
  /** Every message the view holds: the timeline's, thread replies, thread roots older than the timeline. */
  const held = new Map<string, Message>();
  /** The latest events, ascending and unique by seq. */
  let journal: LoggedRoomEvent[] = [];
  let timeline: Message[] | null = null;
  const threads = new Map<string, Message[]>();
  let activity: readonly RoomActivity[] = [];
  let roles = new Map<string, MemberRole | null>();
  let mutes = new Map<string, MemberMute | null>();
  let room: Room | null = null;
  /** The flagged copy of each held message that needed a change, made once until the next change. */
  const flagged = new Map<Message, Message>();

  function changed(): void {
    timeline = null;
    threads.clear();
    flagged.clear();
  }

  /** The message as the reader sees it: `senderBlocked` from the blocked set once that is known. */
  function shown(message: Message): Message {
    if (!blocked?.known()) return message;
    const isBlocked = blocked.has(message.sender.id);
    if (isBlocked === (message.senderBlocked === true)) return message;
    let copy = flagged.get(message);
    if (!copy) {
      const { senderBlocked: _was, ...rest } = message;
      copy = isBlocked ? { ...rest, senderBlocked: true } : rest;
      flagged.set(message, copy);
    }
    return copy;
  }

  function record(event: LoggedRoomEvent): boolean {
    const last = journal.at(-1);
    if (last && event.seq <= last.seq) return false;
    journal.push(event);
    if (journal.length > JOURNAL_LIMIT * 1.25) journal = journal.slice(-JOURNAL_LIMIT);
    return true;
  }

  /** Applies an event to what the view holds; a message it has not seen is taken only from its creation. */
  function change(event: LoggedRoomEvent): void {
    if (!isAboutMessages(event)) return noteActivity(event);
    const apply = messageChangeOf(event, userId);
    if (!apply) return;
    const touches =
      event.type === "message.edited" || event.type === "message.deleted"
        ? [...held.keys()] // replies quoting it, wherever they are
        : [event.type === "message.created" ? event.message.id : event.messageId, ...("root" in event && event.root ? [event.root.messageId] : [])];
    for (const id of touches) {
      const current = held.get(id);
      if (!current) continue;
      const next = apply(current);
      if (next !== current) held.set(id, next);
    }
    if (event.type === "message.created" && !held.has(event.message.id)) held.set(event.message.id, event.message);
    changed();
  }

  function noteActivity(event: RoomActivity): void {
    activity = [...activity.slice(activity.length >= ACTIVITY_LIMIT ? 1 : 0), event];
    switch (event.type) {
      case "member.joined":
        roles = new Map(roles).set(event.member.user.id, event.member.role);
        break;
      case "member.role":
        roles = new Map(roles).set(event.userId, event.role);
        break;
      case "member.left":
        roles = new Map(roles).set(event.userId, null);
        break;
      case "member.muted":
        mutes = new Map(mutes).set(event.userId, { until: event.until });
        break;
      case "member.unmuted":
        mutes = new Map(mutes).set(event.userId, null);
        break;
      case "room.updated":
        room = event.room;
        break;
    }
  }

  /** The events after `after` through the position, or null when the journal no longer reaches back that far. */
  function since(after: number): LoggedRoomEvent[] | null {
    const through = position;
    if (through === null || after >= through) return [];
    const events = journal.filter((event) => event.seq > after && event.seq <= through);
    return events.length === through - after ? events : null;
  }

  /** Takes messages read from the server, with the events since they were read applied to them. */
  function take(messages: readonly Message[], after: number): LoadOutcome {
    const missed = since(after);
    if (missed === null) return "stale";
    const changes = missed.flatMap((event) => messageChangeOf(event, userId) ?? []);
    for (const message of messages) held.set(message.id, changes.reduce((current, apply) => apply(current), message));
    changed();
    return "loaded";
  }

  function seed(page: MessagePage): LoadOutcome {
    if (page.hasNewer) throw new Error("a room view starts from the newest page of messages.list (hasNewer: false)");
    held.clear();
    // What the events said of roles and the room may have been overtaken by the ones missed: ask again (null/absent).
    roles = new Map();
    mutes = new Map();
    room = null;
    for (const message of page.messages) held.set(message.id, message);
    changed();
    position = endOf(page);
    floor = floorOf(page);
    hasOlder = page.hasOlder;
    state = "live";
    for (const event of journal) {
      if (event.seq <= position) continue;
      if (event.seq !== position + 1) {
        state = "stale";
        return "stale";
      }
      change(event);
      position = event.seq;
    }
    return "loaded";
  }

  function merge(page: MessagePage): LoadOutcome {
    const outcome = take(page.messages, endOf(page));
    if (outcome === "loaded" && floor !== null && floorOf(page) < floor) {
      floor = floorOf(page);
      hasOlder = page.hasOlder;
    }
    return outcome;
  }

  const view: RoomView = {
    roomId,
    get state() {
      return state;
    },
    get position() {
      return position;
    },
    get hasOlder() {
      return hasOlder;
    },
    get pageBefore() {
      return hasOlder && floor !== null ? floor : null;
    },
    apply(event) {
      if (event.roomId !== roomId) throw new Error(`an event of room ${event.roomId} given to the view of ${roomId}`);
      if (position !== null && event.seq <= position) return "duplicate";
      if (!record(event)) return "duplicate";
      if (state !== "live" || position === null) return "held";
      if (event.seq !== position + 1) {
        state = "stale";
        return "gap";
      }
      change(event);
      position = event.seq;
      return "applied";
    },
    load: (page) => (state === "live" ? merge(page) : seed(page)),
    loadThread(page, requestedAt) {
      if (state !== "live") return "stale";
      return take([page.root, ...page.replies], requestedAt);
    },
    invalidate(cause) {
      if (state === "live") state = "stale";
      if (cause === "reset") {
        // Seqs of another epoch: neither the position nor the kept events mean anything in the new one.
        position = null;
        journal = [];
      }
    },
    messages() {
      const reach = floor;
      if (reach === null) return (timeline ??= []);
      timeline ??= [...held.values()].filter((message) => message.seq >= reach && onMainTimeline(message)).sort(bySeq).map(shown);
      return timeline;
    },
    thread(rootId) {
      let replies = threads.get(rootId);
      if (!replies) threads.set(rootId, (replies = [...held.values()].filter((message) => message.threadRootId === rootId).sort(bySeq).map(shown)));
      return replies;
    },
    message(messageId) {
      const message = held.get(messageId);
      return message && shown(message);
    },
    activity: () => activity,
    roles: () => roles,
    mutes: () => mutes,
    room: () => room,
    blockedChanged: changed,
  };
  if (options.page) view.load(options.page);
  return view;
}

/** Where a page ends in the room's log: its position, or its newest message if a later commit slipped in. */
function endOf(page: MessagePage): number {
  return Math.max(page.lastSeq, page.messages.at(-1)?.seq ?? 0);
}

function floorOf(page: MessagePage): number {
  return page.hasOlder ? (page.messages[0]?.seq ?? page.lastSeq + 1) : 0;
}

const bySeq = (a: Message, b: Message): number => a.seq - b.seq;
