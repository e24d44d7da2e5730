/**
 * Why a socket was closed with 4002: live traffic left more than WS_MAX_BUFFERED_BYTES queued (the periodic
 * sweep); a replay waited WS_STALL_TIMEOUT_MS for a buffer that never drained; a gap fill from history pushed
 * it over the limit; or the runtime itself refused a frame (Bun past its backpressure limit).
 */
export type SlowConsumerCause = "buffer" | "replay_stalled" | "gap_fill" | "dropped";

/** `reset`: the client resumed from another epoch of the room's stream (a restored database) and starts over. */
export type ResumeResult = "recovered" | "not_recovered" | "reset";

/**
 * What the realtime layer reports for an operator to count; the metrics wiring implements the hooks it wants.
 * Each is called once per occurrence, synchronously, and must not throw.
 */
export interface RealtimeCounters {
  /** A socket was closed with 4002 (once per socket, whatever else later found it slow). */
  onSlowConsumerClose?(cause: SlowConsumerCause): void;
  /** An upgrade was refused with 429: the user already holds WS_MAX_SOCKETS_PER_USER sockets on this instance. */
  onSocketRefused?(reason: "per_user_cap"): void;
  /** A room was resumed (one `resumed` event): everything missed was replayed, or the client must page. */
  onResume?(result: ResumeResult): void;
  /**
   * Frames written: "room" — one room event fanned out, `sockets` the local sockets it reached; "direct" — one frame
   * to one socket (replay, user events, acks).
   */
  onDelivered?(kind: "room" | "direct", sockets: number): void;
}
