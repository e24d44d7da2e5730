import postgres, { type Sql } from "postgres";
import type { FleetClient } from "./fleet.ts";
import { uniqueRedisPrefix } from "./redis.ts";
import { type ServerProcess, startServer } from "./server-process.ts";
import { startTcpBalancer, type TcpBalancer } from "./tcp-balancer.ts";

/**
 * Several real Bun instances on one Postgres and one Redis, behind a TCP balancer — the production shape on one
 * machine, for fault scenarios: kill an instance, restart Redis or Postgres under it, and check every delivery
 * against the `messages` table through `sql`.
 */
export interface FaultCluster {
  instances: ServerProcess[];
  balancer: TcpBalancer;
  /** The balancer's URL: what the fleet connects to, so reconnects land on whichever instances are alive. */
  url: string;
  /** A direct connection to the cluster's database, for the verifier. */
  sql: Sql;
  redisPrefix: string;
  /** `kill -9`: no drain, no close frames; the kernel resets its connections. */
  kill(index: number): Promise<void>;
  /** Log lines (from every instance) whose `msg` is `msg`. */
  logsWith(msg: string): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface ClusterOptions {
  instances: number;
  databaseUrl: string;
  redisUrl: string;
  /** Extra environment for every instance. */
  env?: Record<string, string>;
  /** Extra environment for one instance (e.g. a smaller resume budget). */
  instanceEnv?: (index: number) => Record<string, string>;
}

export async function startCluster(options: ClusterOptions): Promise<FaultCluster> {
  const redisPrefix = uniqueRedisPrefix();
  const env = {
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: redisPrefix,
    // Traffic here is the scenario's, not abuse: no limit may shape it.
    WS_FRAME_RATE: "100000/1",
    DATABASE_POOL_SIZE: "5",
    ...options.env,
  };
  const started = await Promise.allSettled(
    Array.from({ length: options.instances }, (_, index) =>
      startServer("bun", { ...env, INSTANCE_ID: `fault-${index}`, ...options.instanceEnv?.(index) }),
    ),
  );
  const instances = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed) {
    await Promise.all(instances.map((instance) => instance.stop("SIGKILL")));
    throw failed.reason;
  }
  const balancer = await startTcpBalancer(instances.map((instance) => instance.port));
  const sql = postgres(options.databaseUrl, { max: 2, onnotice: () => {} });

  return {
    instances,
    balancer,
    url: balancer.url,
    sql,
    redisPrefix,
    async kill(index) {
      const instance = instances[index];
      if (!instance) throw new Error(`no instance ${index}`);
      await instance.stop("SIGKILL");
    },
    logsWith: (msg) => instances.flatMap((instance) => instance.logs.filter((entry) => entry.msg === msg)),
    async close() {
      await balancer.close();
      await Promise.all(instances.map((instance) => instance.stop("SIGKILL")));
      await sql.end({ timeout: 2 });
    },
  };
}

/**
 * Public rooms created by the first client; member `i` joins `roomsPerClient` rooms, spread round-robin so every
 * room gets members on every instance the balancer spreads them over.
 */
export async function createRooms(clients: FleetClient[], options: { rooms: number; roomsPerClient: number }): Promise<string[]> {
  const [owner] = clients;
  if (!owner) throw new Error("no clients");
  const roomIds: string[] = [];
  for (let index = 0; index < options.rooms; index++) {
    const room = await owner.client.api.rooms.create.mutate({ name: `fault room ${index}`, kind: "public" });
    roomIds.push(room.id);
    owner.rooms.add(room.id); // the creator is a member (the owner) of every room
  }
  for (const [index, client] of clients.entries()) {
    for (let k = 0; k < options.roomsPerClient; k++) {
      await client.join(roomIds[(index + k) % roomIds.length] as string);
    }
  }
  return roomIds;
}

/** Connects every client (a few at a time) and waits for each `ready`. */
export async function connectAll(clients: FleetClient[]): Promise<void> {
  for (let start = 0; start < clients.length; start += 4) {
    await Promise.all(clients.slice(start, start + 4).map((client) => client.connect()));
  }
}

/** Polls until `condition` holds, or throws with `describe()` after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, describe: () => string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}
