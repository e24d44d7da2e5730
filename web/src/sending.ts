import { parley } from "./parley.ts";
import { createPendingStore, type PendingKeeper } from "./pending.ts";

/** The app's one pending-message store, sending through the SDK's realtime outbox. */
export const pending = createPendingStore((roomId, body, options) => parley.realtime.send(roomId, body, options));

/** This person's unacknowledged sends in localStorage, so a page closed or reloaded while offline loses none. */
export function keepPendingFor(userId: string): PendingKeeper {
  const key = `parley.pending.${userId}`;
  return {
    load: () => {
      try {
        return JSON.parse(localStorage.getItem(key) ?? "[]") as unknown;
      } catch {
        return []; // unreadable: start afresh rather than fail the app
      }
    },
    save: (entries) => {
      try {
        if (entries.length === 0) localStorage.removeItem(key);
        else localStorage.setItem(key, JSON.stringify(entries));
      } catch {
        // Storage full or disabled (private mode): sends still work, they only do not outlive the page.
      }
    },
  };
}
