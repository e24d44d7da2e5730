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
  min: number;
  p50: number;
  p90: number;
  p95: number;
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
  layout: IdleJobLayout;
  /** Time between the last socket being ready and the memory reading. */
  settleMs: number;
}

export interface IdleResult {
  sockets: number;
  /** Sockets that were closed by the server while held. */
  dropped: number;
}

export interface IdleJobLayout {
  /** Rooms the sockets are spread over: 100 (each socket in one of them), or 1 (everyone in one big room). */
  rooms: number;
}

/**
 * A reconnect storm: `clients` sockets (resuming like the SDK: full-jitter backoff, a ticket carrying the resume
 * positions) lose their one server at the `storm:stop` checkpoint — the orchestrator kills or terminates it there
 * and starts a new one on the same port — and come back; messages keep being sent throughout.
 */
export interface StormJob {
  kind: "storm";
  target: ParleyTarget;
  clients: number;
  users: number;
  rooms: number;
  /** Messages sent per second (over HTTP, into random rooms) before, during and after the storm. */
  messagesPerSecond: number;
  /** The SDK's defaults: the first retry within [0, min], each next ceiling doubled, up to max. */
  backoff: { minDelayMs: number; maxDelayMs: number };
  /** Give up on clients not back by then. */
  timeoutMs: number;
}

export interface StormResult {
  clients: number;
  /** Clients that were ready again before the timeout. */
  recovered: number;
  /** Milliseconds from the stop to each client's `ready` on the new server. */
  recovery: LatencySummary;
  /** Connection attempts: refused (nothing listening), unavailable (503 / SERVICE_UNAVAILABLE), other failures. */
  attempts: { total: number; refused: number; unavailable: number; failed: number };
  /** Rooms resumed with every missed message replayed / told `recovered: false`. */
  resumes: { recovered: number; unrecovered: number };
  /** Presence frames the clients received from the stop until everyone was back. */
  presenceFrames: number;
}

/**
 * Reads of a long room history by one reader, `readers` requests at a time over HTTP (tRPC, one call per request):
 * each phase asks one kind of page or search `requests` times (or until `maxMs`), after a warm-up of
 * `warmupPerReader` requests per reader and a quarter as many requests from one reader alone.
 */
export interface HistoryJob {
  kind: "history";
  target: ParleyTarget;
  reader: { email: string; password: string };
  /** The reader's rooms, the big one first. */
  rooms: { id: string; lastSeq: number }[];
  readers: number;
  warmupPerReader: number;
  phases: HistoryPhase[];
}

/** Which page of `messages.list`, or which `messages.search`, a phase asks for. */
export type HistoryCall =
  /** newest: the room's newest page; before: a page before a random seq; around: around one. `any`: a random room. */
  | { procedure: "messages.list"; page: "newest" | "before" | "around"; room: "big" | "any" }
  /** `big`: with roomId (the big room); `all`: every room the reader is in. */
  | { procedure: "messages.search"; query: string; room: "big" | "all" };

export interface HistoryPhase {
  label: string;
  call: HistoryCall;
  requests: number;
  maxMs: number;
}

export interface HistoryPhaseResult {
  label: string;
  procedure: HistoryCall["procedure"];
  requests: number;
  windowMs: number;
  /** With `readers` concurrent readers. */
  latency: LatencySummary;
  /** The same call from one reader alone, before: what a request costs when nothing queues. */
  serial: LatencySummary;
  /** Messages (list) or hits (search) per answer, on average. */
  itemsPerAnswer: number;
  errors: number;
  firstError?: string;
}

export interface HistoryResult {
  phases: HistoryPhaseResult[];
  /** All measured requests of each procedure together. */
  overall: Partial<Record<HistoryCall["procedure"], LatencySummary>>;
}

export type Job = FanoutJob | PersistedJob | ThroughputJob | IdleJob | StormJob | HistoryJob;

export type JobResult =
  | { kind: "fanout"; phases: FanoutPhase[] }
  | ({ kind: "persisted" } & PersistedResult)
  | ({ kind: "throughput" } & ThroughputResult)
  | ({ kind: "idle" } & IdleResult)
  | ({ kind: "storm" } & StormResult)
  | ({ kind: "history" } & HistoryResult);

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
  stormStop: "storm:stop",
  stormRecovered: "storm:recovered",
} as const;
