/** Small expiring key-value store: Redis when configured, the database on the embedded default, memory in tests. */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { ttlSeconds: number }): Promise<void>;
  /** Sets only when the key is absent (or expired). Atomic. */
  setIfAbsent(key: string, value: string, options: { ttlSeconds: number }): Promise<"set" | "exists">;
  /** Returns the value and removes the key in one atomic step: of concurrent callers at most one gets the value. */
  take(key: string): Promise<string | null>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
