import type { ServerEvent } from "../../../src/contract.ts";

type BlockUpdated = Extract<ServerEvent, { type: "block.updated" }>;

/**
 * The people the signed-in user blocked, as this client knows them: read with `users.blocked` when first wanted (a
 * room view subscribes) while signed in, else on the first `ready`, and again on every `ready` while wanted (a `block.updated` made while the socket was away is
 * not replayed), and kept current by `block.updated`. A client with no room view never reads it. Room views
 * flag those people's messages `senderBlocked` with it: pushed events are shared by every member, so the server
 * cannot flag them for one reader.
 */
export interface BlockedUsers {
  /** False until the first read of `users.blocked` answered: until then the server's own flags stand. */
  known(): boolean;
  has(userId: string): boolean;
  /** Called after every change of the set; returns the function that stops it. */
  subscribe(listener: () => void): () => void;
}

export interface BlockedUsersDeps {
  /** Every user id `users.blocked` lists, all pages. */
  list(): Promise<string[]>;
  /**
   * Whether `users.blocked` may be read now (default: always). Signed out it would only answer 401: a subscriber
   * then waits for the next `ready`, which only a signed-in socket receives.
   */
  signedIn?(): boolean;
  onError(error: unknown): void;
}

export interface BlockedUsersFeed extends BlockedUsers {
  /** The socket is (again) ready: read the set afresh. */
  ready(): void;
  updated(event: BlockUpdated): void;
  /** Signed out or closed: forget the set. */
  reset(): void;
}

export function createBlockedUsers(deps: BlockedUsersDeps): BlockedUsersFeed {
  let ids: Set<string> | null = null;
  /** Bumped by every event and reset: a read that started before one is read again. */
  let version = 0;
  let reading = false;
  const listeners = new Set<() => void>();

  function notify(): void {
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch (error) {
        deps.onError(error);
      }
    }
  }

  async function read(): Promise<void> {
    if (reading) return;
    reading = true;
    try {
      for (;;) {
        const startedAt = version;
        const listed = await deps.list();
        if (version !== startedAt) continue; // a block or unblock landed meanwhile: the list may predate it
        ids = new Set(listed);
        notify();
        return;
      }
    } catch (error) {
      deps.onError(error);
    } finally {
      reading = false;
    }
  }

  return {
    known: () => ids !== null,
    has: (userId) => ids?.has(userId) ?? false,
    subscribe(listener) {
      listeners.add(listener);
      if (ids === null && (deps.signedIn?.() ?? true)) void read();
      return () => void listeners.delete(listener);
    },
    ready() {
      if (listeners.size > 0) return void read();
      // Nobody looks now: what was known may miss changes made while away; read again when next wanted.
      version += 1;
      ids = null;
    },
    updated(event) {
      version += 1;
      if (!ids) return;
      if (event.blocked) ids.add(event.userId);
      else ids.delete(event.userId);
      notify();
    },
    reset() {
      version += 1;
      if (ids === null) return;
      ids = null;
      notify();
    },
  };
}
