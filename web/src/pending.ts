import type { Message, SendOptions } from "@parley/client";
import { useSyncExternalStore } from "react";
import type { PendingMessage } from "./timeline.ts";

type Sender = (roomId: string, body: string, options: SendOptions) => Promise<Message>;

/** Where one person's unacknowledged sends are kept between pages (localStorage in the app). */
export interface PendingKeeper {
  load(): unknown;
  save(entries: PendingMessage[]): void;
}

/** A kept entry as this app writes it; anything else in storage (an older app, a hand edit) is dropped. */
function isPendingMessage(value: unknown): value is PendingMessage {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  const optionalString = (key: string): boolean => entry[key] === undefined || typeof entry[key] === "string";
  return typeof entry.clientMsgId === "string" && typeof entry.roomId === "string" && typeof entry.body === "string" &&
    optionalString("replyTo") && optionalString("threadRootId") && optionalString("failed") && optionalString("sentId") &&
    (entry.attachments === undefined || (Array.isArray(entry.attachments) && entry.attachments.every((id) => typeof id === "string")));
}

/**
 * The messages I sent that the server has not yet shown back, across rooms. Sending goes through the SDK's realtime
 * outbox (`parley.realtime.send`): while offline a send waits, and it goes out (once: same clientMsgId) on reconnect.
 */
export function createPendingStore(send: Sender) {
  let entries: PendingMessage[] = [];
  let keeper: PendingKeeper | null = null;
  const listeners = new Set<() => void>();
  const set = (next: PendingMessage[]): void => {
    entries = next;
    // Acknowledged entries are on the server: only what it may not have is kept.
    keeper?.save(entries.filter((entry) => !entry.sentId));
    for (const listener of listeners) listener();
  };
  const update = (clientMsgId: string, change: Partial<PendingMessage>): void =>
    set(entries.map((entry) => (entry.clientMsgId === clientMsgId ? { ...entry, ...change } : entry)));

  const dispatch = (entry: PendingMessage): void => {
    const options: SendOptions = { clientMsgId: entry.clientMsgId };
    if (entry.replyTo) options.replyTo = entry.replyTo;
    if (entry.threadRootId) options.threadRootId = entry.threadRootId;
    if (entry.attachments?.length) options.attachments = entry.attachments;
    send(entry.roomId, entry.body, options).then(
      (message) => update(entry.clientMsgId, { sentId: message.id }),
      (error: unknown) => update(entry.clientMsgId, { failed: error instanceof Error ? error.message : String(error) }),
    );
  };

  return {
    subscribe(listener: () => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    all: (): PendingMessage[] => entries,
    send(entry: Omit<PendingMessage, "clientMsgId">): string {
      const pending: PendingMessage = { ...entry, clientMsgId: crypto.randomUUID() };
      set([...entries, pending]);
      dispatch(pending);
      return pending.clientMsgId;
    },
    /** A failed send again, with the same clientMsgId: the server answers the original if it did get it. */
    retry(clientMsgId: string): void {
      const entry = entries.find((candidate) => candidate.clientMsgId === clientMsgId);
      if (!entry) return;
      const { failed: _failed, ...rest } = entry;
      set(entries.map((candidate) => (candidate === entry ? rest : candidate)));
      dispatch(rest);
    },
    discard(clientMsgId: string): void {
      set(entries.filter((entry) => entry.clientMsgId !== clientMsgId));
    },
    /** Forget acknowledged entries once their message is on screen (called by the room view). */
    settle(shownIds: ReadonlySet<string>): void {
      if (entries.some((entry) => entry.sentId && shownIds.has(entry.sentId))) set(entries.filter((entry) => !(entry.sentId && shownIds.has(entry.sentId))));
    },
    /**
     * Keeps the entries with `keep` from now on, and sends again, with their clientMsgIds, those an earlier page left
     * unacknowledged (closed or reloaded while offline): the server answers a send it already has with the original,
     * so nothing goes out twice. Failed ones come back failed, to retry or discard.
     */
    resume(keep: PendingKeeper): void {
      keeper = keep;
      const loaded = keep.load();
      const known = new Set(entries.map((entry) => entry.clientMsgId));
      const revived = (Array.isArray(loaded) ? loaded : []).filter(isPendingMessage).filter((entry) => !entry.sentId && !known.has(entry.clientMsgId));
      set([...entries, ...revived]);
      for (const entry of revived) if (!entry.failed) dispatch(entry);
    },
    /** Signing out: forgets everything, kept entries included, and keeps nothing more. */
    clear(): void {
      set([]);
      keeper = null;
    },
  };
}

export type PendingStore = ReturnType<typeof createPendingStore>;

export function usePending(store: PendingStore): PendingMessage[] {
  return useSyncExternalStore(store.subscribe, store.all);
}
