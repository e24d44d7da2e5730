export interface BackoffOptions {
  /** The ceiling of the first attempt's delay. */
  minDelayMs: number;
  /** No delay is ever longer than this. */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { minDelayMs: 500, maxDelayMs: 30_000 };

/**
 * Full jitter: a delay drawn uniformly from [0, min(max, min·2^attempt)]. Spreads a fleet of clients that lost
 * their server at the same moment across the whole window instead of reconnecting in waves.
 * See https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
