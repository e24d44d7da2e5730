import type { Message, SendOptions } from "@parley/client";
import { useSyncExternalStore } from "react";
import type { PendingMessage } from "./timeline.ts";

type Sender = (roomId: string, body: string, options: SendOptions) => Promise<Message>;

/**
 * The messages I sent that the server has not yet shown back, across rooms. Sending goes through the SDK's realtime
 * outbox (`parley.realtime.send`): while offline a send waits, and it goes out (once: same clientMsgId) on reconnect.
 */
export function createPendingStore(send: Sender) {
  let entries: PendingMessage[] = [];
  const listeners = new Set<() => void>();
  const set = (next: PendingMessage[]): void => {
    entries = next;
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
    clear(): void {
      set([]);
    },
  };
}

export type PendingStore = ReturnType<typeof createPendingStore>;

export function usePending(store: PendingStore): PendingMessage[] {
  return useSyncExternalStore(store.subscribe, store.all);
}
