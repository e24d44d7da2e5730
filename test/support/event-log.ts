/** Events as they arrive, and a way to wait for one — past or future — that matches. */
export interface EventLog<T> {
  readonly events: T[];
  push(event: T): void;
  /** Resolves with the first event (already logged, or arriving within the timeout) that matches. */
  waitFor<U extends T = T>(predicate: (event: T) => boolean, timeoutMs: number, what?: string): Promise<U>;
}

export function createEventLog<T>(): EventLog<T> {
  const events: T[] = [];
  const listeners = new Set<() => void>();
  return {
    events,
    push(event) {
      events.push(event);
      for (const listener of listeners) listener();
    },
    waitFor: <U extends T = T>(predicate: (event: T) => boolean, timeoutMs: number, what = "matching event") =>
      new Promise<U>((resolve, reject) => {
        const check = (): boolean => {
          const found = events.find(predicate);
          if (!found) return false;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(found as U);
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(events).slice(-2000)}`));
        }, timeoutMs);
        if (!check()) listeners.add(check);
      }),
  };
}
