/** How long and how big each scenario runs: `--quick` is a smoke run of the harness, the default the real thing. */
export interface Profile {
  name: "quick" | "full";
  warmupMs: number;
  measureMs: number;
  fanout: { clients: number[]; senderCounts: number[]; maxUsers: number; windowPerSender: number; latencyReceivers: number };
  persisted: { clients: number; users: number; senders: number; sendsPerSecond: number };
  throughput: { senders: number; windows: number[] };
  idle: { sockets: number; users: number; settleMs: number };
  storm: { clients: number; users: number; rooms: number; messagesPerSecond: number; timeoutMs: number };
  history: {
    /** Events in the reader's rooms on Postgres, and on the embedded PGlite (see BENCHMARKS.md for why it may differ). */
    events: number;
    embeddedEvents: number;
    readers: number;
    warmupPerReader: number;
    /** Per phase: at most this many requests, for at most maxMs. */
    listRequests: number;
    searchRequests: number;
    maxMs: number;
  };
}

export const FULL: Profile = {
  name: "full",
  warmupMs: 3_000,
  measureMs: 10_000,
  fanout: { clients: [100, 1000], senderCounts: [1, 10], maxUsers: 1000, windowPerSender: 16, latencyReceivers: 50 },
  persisted: { clients: 1000, users: 1000, senders: 20, sendsPerSecond: 200 },
  throughput: { senders: 50, windows: [1, 4] },
  idle: { sockets: 10_000, users: 1000, settleMs: 5_000 },
  storm: { clients: 5_000, users: 1000, rooms: 100, messagesPerSecond: 50, timeoutMs: 120_000 },
  history: { events: 1_000_000, embeddedEvents: 1_000_000, readers: 8, warmupPerReader: 5, listRequests: 2000, searchRequests: 400, maxMs: 20_000 },
};

export const QUICK: Profile = {
  name: "quick",
  warmupMs: 1_000,
  measureMs: 3_000,
  fanout: { clients: [100, 1000], senderCounts: [1, 10], maxUsers: 100, windowPerSender: 16, latencyReceivers: 50 },
  persisted: { clients: 1000, users: 100, senders: 20, sendsPerSecond: 200 },
  throughput: { senders: 50, windows: [1] },
  idle: { sockets: 2_000, users: 200, settleMs: 2_000 },
  storm: { clients: 1_000, users: 200, rooms: 20, messagesPerSecond: 20, timeoutMs: 60_000 },
  history: { events: 50_000, embeddedEvents: 50_000, readers: 8, warmupPerReader: 2, listRequests: 400, searchRequests: 80, maxMs: 5_000 },
};

export const SCENARIOS = ["fanout", "persisted", "throughput", "idle", "storm", "history"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Options {
  profile: Profile;
  /** Rewrite the results section of BENCHMARKS.md from this run. */
  write: boolean;
  only: ScenarioName[];
  /** DATABASE_POOL_SIZE for Parley (unset: Parley's default). */
  poolSize: number | undefined;
  adminUrl: string;
  redisUrl: string;
  /** Run Parley under `bun --cpu-prof` and keep the profiles (Markdown too) in this directory. */
  cpuProfileDir: string | undefined;
}

export function parseOptions(argv: string[]): Options {
  const value = (flag: string): string | undefined => argv.find((arg) => arg.startsWith(`--${flag}=`))?.slice(flag.length + 3);
  for (const arg of argv) {
    if (!/^--(quick|write|only=.+|pg-pool=\d+|cpu-prof|postgres=.+|redis=.+|history-events=\d+|history-embedded-events=\d+|history-readers=\d+)$/.test(arg)) {
      throw new Error(
        `unknown argument ${arg}; usage: npm run bench -- [--quick] [--write] [--only=${SCENARIOS.join(",")}] [--pg-pool=N] [--cpu-prof] [--postgres=URL] [--redis=URL] [--history-events=N] [--history-embedded-events=N] [--history-readers=N]`,
      );
    }
  }
  const only = (value("only")?.split(",") ?? [...SCENARIOS]).map((name) => {
    const known = SCENARIOS.find((scenario) => scenario === name);
    if (!known) throw new Error(`unknown scenario ${name}; known: ${SCENARIOS.join(", ")}`);
    return known;
  });
  const pool = value("pg-pool");
  const base = argv.includes("--quick") ? QUICK : FULL;
  const events = value("history-events");
  const embeddedEvents = value("history-embedded-events");
  const readers = value("history-readers");
  // --history-events alone sizes both databases' histories (a quick look at one size); each flag wins for its own.
  const history = {
    ...base.history,
    ...(events ? { events: Number(events), embeddedEvents: Number(events) } : {}),
    ...(embeddedEvents ? { embeddedEvents: Number(embeddedEvents) } : {}),
    ...(readers ? { readers: Math.max(1, Number(readers)) } : {}),
  };
  return {
    profile: { ...base, history },
    write: argv.includes("--write"),
    only,
    poolSize: pool === undefined ? undefined : Number(pool),
    adminUrl: value("postgres") ?? "postgres://postgres@127.0.0.1:5432/postgres",
    redisUrl: value("redis") ?? "redis://127.0.0.1:6379",
    cpuProfileDir: argv.includes("--cpu-prof") ? `bench/results/profiles-${new Date().toISOString().replace(/[:.]/g, "-")}` : undefined,
  };
}
