/**
 * The platform's hints that a connection is worth checking now rather than at the next ping: the browser going
 * online or offline, and the page becoming visible again (a laptop waking up, a phone unlocking, a tab brought back).
 * centrifuge-js reacts to the same events. Elsewhere (Node, Bun and Deno servers) nothing fires, and the ping is
 * what notices a dead link.
 */
export interface NetworkEnvironment {
  /** Starts reporting; returns the function that stops it. */
  watch(handlers: { online(): void; offline(): void; visible(): void }): () => void;
}

interface EventSource {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** The browser's `window` and `document`, when there are such; null elsewhere. */
export function browserNetwork(): NetworkEnvironment | null {
  const scope = globalThis as { window?: EventSource; document?: EventSource & { visibilityState?: string } };
  const { window, document } = scope;
  if (!window || typeof window.addEventListener !== "function") return null;
  return {
    watch(handlers) {
      const onVisibility = (): void => {
        if (document?.visibilityState === "visible") handlers.visible();
      };
      window.addEventListener("online", handlers.online);
      window.addEventListener("offline", handlers.offline);
      document?.addEventListener("visibilitychange", onVisibility);
      return () => {
        window.removeEventListener("online", handlers.online);
        window.removeEventListener("offline", handlers.offline);
        document?.removeEventListener("visibilitychange", onVisibility);
      };
    },
  };
}
