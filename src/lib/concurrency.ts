/**
 * Runs `task` over `items` with at most `limit` running at once; resolves with results in input order.
 * Rejects with the first failure, after every started task has settled.
 */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  async function worker(): Promise<void> {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        results[index] = await task(items[index] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
  return results;
}

/** Runs tasks at most `limit` at a time, the rest waiting in arrival order. */
export interface ConcurrencyLimit {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Tasks running plus tasks waiting. */
  pending(): number;
}

/**
 * `maxHoldMs`: a task still running after this long gives its place to the next one (and goes on running), so a
 * few slow tasks cannot hold everyone else up for longer than that.
 */
export function createConcurrencyLimit(limit: number, options: { maxHoldMs: number }): ConcurrencyLimit {
  const waiting: (() => void)[] = [];
  let running = 0;
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  };
  return {
    async run(task) {
      if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      else running += 1;
      let released = false;
      const releaseOnce = (): void => {
        if (released) return;
        released = true;
        release();
      };
      const holdTimer = setTimeout(releaseOnce, options.maxHoldMs);
      try {
        return await task();
      } finally {
        clearTimeout(holdTimer);
        releaseOnce();
      }
    },
    pending: () => running + waiting.length,
  };
}
