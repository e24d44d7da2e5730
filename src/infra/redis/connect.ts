import { Redis } from "ioredis";
import type { Logger } from "../../lib/logger.ts";

const READY_TIMEOUT_MS = 5000;

/**
 * A command connection that fails fast: while Redis is unreachable, commands reject at once (no offline queue)
 * or within `commandTimeout`, so callers can fail open or report the error instead of hanging. Reconnects
 * forever with capped, jittered backoff. Resolves once the connection is ready; rejects after ~5 s otherwise.
 */
export async function connectRedis(options: {
  url: string;
  logger: Logger;
  name: string;
  /** ioredis's own resubscribe after a reconnect (default on); a subscriber that tracks its channels turns it off. */
  autoResubscribe?: boolean;
}): Promise<Redis> {
  const logger = options.logger.child({ redis: options.name });
  const host = new URL(options.url).host; // never log the URL itself: it may carry a password
  const client = new Redis(options.url, {
    connectionName: options.name,
    autoResubscribe: options.autoResubscribe ?? true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
    connectTimeout: 3000,
    // Jitter spreads the reconnects of many instances after a Redis restart.
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 3000) + Math.floor(Math.random() * 100),
  });

  let lastError: Error | null = null;
  const lastErrorSuffix = (): string => (lastError ? `: ${lastError.message}` : "");
  let link: "connecting" | "up" | "down" = "connecting";
  // Without an "error" listener ioredis prints every retry's error to stderr; the transitions below are the log.
  client.on("error", (error: Error) => {
    lastError = error;
  });
  // "reconnecting" fires on every retry and never after quit(), so guard on the transition.
  client.on("reconnecting", () => {
    if (link !== "up") return;
    link = "down";
    logger.warn("redis connection lost; reconnecting", { host, error: lastError?.message });
  });
  client.on("ready", () => {
    if (link === "down") logger.info("redis connection restored", { host });
    link = "up";
  });

  try {
    await waitUntilReady(client);
  } catch {
    client.disconnect();
    throw new Error(`could not connect to Redis at ${host} (${options.name}) within ${READY_TIMEOUT_MS} ms${lastErrorSuffix()}`);
  }
  return client;
}

function waitUntilReady(client: Redis): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off("ready", onReady);
      reject(new Error("timeout"));
    }, READY_TIMEOUT_MS);
    function onReady(): void {
      clearTimeout(timer);
      resolve();
    }
    client.once("ready", onReady);
  });
}

/**
 * Graceful QUIT when connected; otherwise just drop the socket and stop reconnecting. (With the offline queue
 * off, QUIT on a disconnected client rejects and would leave it reconnecting forever.)
 */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === "end") return;
  if (client.status === "ready") {
    const quit = await client.quit().then(
      () => true,
      () => false,
    );
    if (quit) return;
  }
  client.disconnect();
}
