/** Retry delays that grow exponentially, with full jitter. The server's copy of client-sdk/src/realtime/backoff.ts. */
export interface BackoffOptions {
  /** The ceiling of the first retry's delay. */
  minDelayMs: number;
  /** No delay is ever longer than this. */
  maxDelayMs: number;
}

/**
 * Full jitter: a delay drawn uniformly from [0, min(max, min·2^attempt)]. Spreads retries that failed together (an
 * SMTP server that was down for everyone) across the whole window instead of retrying in waves.
 * See https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(random() * ceiling);
}
