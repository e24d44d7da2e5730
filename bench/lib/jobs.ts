/**
 * What the orchestrator (bench/run.ts, Node) asks the load generator (bench/loadgen/main.ts, Bun) to do, and what
 * comes back. Both sides import these types; the job travels as JSON in argv, answers as JSON lines on stdout.
 */

/** A Parley deployment: one URL per instance; sockets are spread over them round-robin. */
export interface ParleyTarget {
  kind: "parley";
  urls: string[];
}

export type FanoutTarget = ParleyTarget | { kind: "bare"; url: string } | { kind: "socketio"; url: string };

/** Latency figures, in milliseconds, on the load generator's clock. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface FanoutJob {
  kind: "fanout";
  target: FanoutTarget;
  /** Sockets in the one room (senders included: they receive their own typing events, like everyone). */
  clients: number;
  /** Distinct accounts the sockets belong to (Parley only; registering costs an Argon2 hash each). */
  users: number;
  /** One measured phase per entry: that many sockets send typing frames as fast as the window allows. */
  senderCounts: number[];
  /** Typing events in flight (sent, not yet delivered to every socket) per sender. */
  windowPerSender: number;
  /** Receivers that time every delivery (all count them). */
  latencyReceivers: number;
  warmupMs: number;
  measureMs: number;
}

export interface FanoutPhase {
  senders: number;
  sent: number;
  delivered: number;
  windowMs: number;
  latency: LatencySummary;
  errors: number;
}

export interface PersistedJob {
  kind: "persisted";
  target: ParleyTarget;
  clients: number;
  users: number;
  senders: number;
  sendsPerSecond: number;
  warmupMs: number;
  measureMs: number;
}

export interface PersistedResult {
  sent: number;
  acked: number;
  /** Deliveries in the measured window. */
  delivered: number;
  windowMs: number;
  deliver: LatencySummary;
  ack: LatencySummary;
  /** Deliveries that never arrived (gaps, or short of the room's final seq at the end). */
  lost: number;
  duplicates: number;
  errors: number;
}

export interface ThroughputJob {
  kind: "throughput";
  target: ParleyTarget;
  senders: number;
  rooms: number;
  /** Rooms each sender belongs to (and picks from at random for every send). */
  roomsPerSender: number;
  /** One measured phase per entry: sends each sender keeps in flight (unacknowledged). */
  windows: number[];
  warmupMs: number;
  measureMs: number;
}

export interface ThroughputPhase {
  window: number;
  acked: number;
  windowMs: number;
  ack: LatencySummary;
  errors: number;
}

export interface ThroughputResult {
  phases: ThroughputPhase[];
  /** Checked once every phase is over: every committed message reached every member socket exactly once. */
  lost: number;
  duplicates: number;
}

export interface IdleJob {
  kind: "idle";
  target: ParleyTarget | { kind: "bare"; url: string };
  sockets: number;
  users: number;
  /** Time between the last socket being ready and the memory reading. */
  settleMs: number;
}

export interface IdleResult {
  sockets: number;
  /** Sockets that were closed by the server while held. */
  dropped: number;
}

export type Job = FanoutJob | PersistedJob | ThroughputJob | IdleJob;

export type JobResult =
  | { kind: "fanout"; phases: FanoutPhase[] }
  | ({ kind: "persisted" } & PersistedResult)
  | ({ kind: "throughput" } & ThroughputResult)
  | ({ kind: "idle" } & IdleResult);

/**
 * Lines the load generator prints. At a checkpoint it stops until the orchestrator answers with one line on its
 * stdin, so a CPU or memory reading of the server is taken at exactly that point of the workload.
 */
export type LoadgenLine =
  | { kind: "checkpoint"; name: string }
  | { kind: "progress"; message: string }
  | { kind: "result"; result: JobResult };

/** Checkpoint names: a phase is measured between `start:<label>` and `end:<label>`. */
export const checkpoint = {
  start: (label: string): string => `start:${label}`,
  end: (label: string): string => `end:${label}`,
  idleBefore: "idle:before-connect",
  idleHeld: "idle:held",
} as const;
