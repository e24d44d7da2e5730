import type { SocketHandle } from "./socket.ts";

/** A local socket as the screen sees it. */
export interface ScreenedSocket {
  readonly socket: SocketHandle;
  /** Whether the socket is subscribed to the room's topic right now (not merely being attached). */
  subscribedTo(roomId: string): boolean;
}

/**
 * Which local sockets must not get whose presence and typing: a block hides both people's presence and typing
 * from each other. Each connection states its set (loaded at connect, re-read on `block.updated` /
 * `blocks.changed`); the room feeds ask, per presence or typing frame, which subscribed sockets to leave out.
 *
 * Kept off the fast path: while no local socket has a block, `withheld` returns at once without parsing anything;
 * otherwise it parses only frames without a seq and looks their subject up in one map.
 */
export interface PresenceScreen {
  /** Replaces the users `viewer` must not see (an empty set: none). */
  set(viewer: ScreenedSocket, hidden: ReadonlySet<string>): void;
  /** The socket is gone. */
  forget(viewer: ScreenedSocket): void;
  /** Subscribed sockets of the room that must not get this ephemeral frame; null (nearly always) when none. */
  withheld(roomId: string, raw: string): SocketHandle[] | null;
}

export function createPresenceScreen(): PresenceScreen {
  /** Subject user → local sockets that must not see them. Only users someone here cannot see are keys. */
  const viewersOf = new Map<string, Set<ScreenedSocket>>();
  /** What each screened socket hides, to undo it. */
  const hiddenBy = new Map<ScreenedSocket, ReadonlySet<string>>();

  function forget(viewer: ScreenedSocket): void {
    const before = hiddenBy.get(viewer);
    if (!before) return;
    hiddenBy.delete(viewer);
    for (const subject of before) {
      const viewers = viewersOf.get(subject);
      viewers?.delete(viewer);
      if (viewers?.size === 0) viewersOf.delete(subject);
    }
  }

  return {
    set(viewer, hidden) {
      forget(viewer);
      if (hidden.size === 0) return;
      hiddenBy.set(viewer, hidden);
      for (const subject of hidden) {
        let viewers = viewersOf.get(subject);
        if (!viewers) viewersOf.set(subject, (viewers = new Set()));
        viewers.add(viewer);
      }
    },
    forget,
    withheld(roomId, raw) {
      if (viewersOf.size === 0) return null;
      const subject = subjectOf(raw);
      const viewers = subject === null ? undefined : viewersOf.get(subject);
      if (!viewers) return null;
      const withheld: SocketHandle[] = [];
      for (const viewer of viewers) if (viewer.subscribedTo(roomId)) withheld.push(viewer.socket);
      return withheld.length > 0 ? withheld : null;
    },
  };
}

/** The user a presence or typing frame is about; null for any other frame (receipts are not screened). */
function subjectOf(raw: string): string | null {
  try {
    const event = JSON.parse(raw) as { type?: unknown; userId?: unknown };
    return (event.type === "presence" || event.type === "typing") && typeof event.userId === "string" ? event.userId : null;
  } catch {
    return null;
  }
}
