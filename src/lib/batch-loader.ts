/**
 * Coalesces lookups made close together into one: every `load(key)` made while a batch is forming (until the
 * current tasks yield to the event loop's next turn) is answered by one `loadMany(keys)` call. A connect burst —
 * hundreds of sockets each reading its user's rooms — then costs a handful of queries instead of hundreds; on the
 * embedded database each query also leaves ~20 KB of garbage behind, so that is memory as well as round trips.
 *
 * A batch is formed on a macrotask (setImmediate-like), so a `load` sees a snapshot taken no earlier than the call:
 * callers that must read after some event (a bus subscription) may rely on it.
 */
export interface BatchLoader<K, V> {
  load(key: K): Promise<V>;
}

export function createBatchLoader<K, V>(options: {
  /** Answers every key asked for; a key missing from the map gets `missing`. */
  loadMany(keys: K[]): Promise<Map<K, V>>;
  missing: V;
  /** The most keys one call may take. */
  maxBatch: number;
}): BatchLoader<K, V> {
  let pending: Map<K, { resolve(value: V): void; reject(error: unknown): void }[]> | null = null;

  function flush(batch: Map<K, { resolve(value: V): void; reject(error: unknown): void }[]>): void {
    const keys = [...batch.keys()];
    for (let from = 0; from < keys.length; from += options.maxBatch) {
      const slice = keys.slice(from, from + options.maxBatch);
      options.loadMany(slice).then(
        (values) => {
          for (const key of slice) for (const waiter of batch.get(key) ?? []) waiter.resolve(values.get(key) ?? options.missing);
        },
        (error: unknown) => {
          for (const key of slice) for (const waiter of batch.get(key) ?? []) waiter.reject(error);
        },
      );
    }
  }

  return {
    load(key) {
      if (!pending) {
        const batch = new Map<K, { resolve(value: V): void; reject(error: unknown): void }[]>();
        pending = batch;
        setTimeout(() => {
          pending = null;
          flush(batch);
        }, 0);
      }
      const batch = pending;
      return new Promise<V>((resolve, reject) => {
        const waiters = batch.get(key);
        if (waiters) waiters.push({ resolve, reject });
        else batch.set(key, [{ resolve, reject }]);
      });
    },
  };
}
