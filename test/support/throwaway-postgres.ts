import { execFile } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./throwaway-redis.ts";

const run = promisify(execFile);
const BIN = process.env.PG_BIN_DIR ?? "/usr/lib/postgresql/15/bin";
/** The OS account the cluster runs as: Postgres refuses to run as root, and tests may run as root. */
const OWNER = "postgres";

/**
 * A private Postgres cluster that a test may crash and bring back, for fault cases. The machine's Postgres on
 * 5432 is never stopped. Trust authentication on 127.0.0.1 only; fsync is off (a test crash stops the server,
 * not the machine, so committed data still reaches the disk through the page cache).
 */
export interface ThrowawayPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  readonly port: number;
  /** `pg_ctl stop -m immediate`: every backend dies at once, like a crash; in-flight transactions abort. */
  stop(): Promise<void>;
  /** Starts the same cluster again on the same port (crash recovery replays the WAL); resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it (if running) and deletes its data directory. */
  destroy(): Promise<void>;
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const dir = mkdtempSync(join(tmpdir(), "parley-pg-"));
  const dataDir = join(dir, "data");
  chownSync(dir, ...(await ownerIds()));
  const port = await freePort();
  const asOwner = (command: string, args: string[]): Promise<{ stdout: string; stderr: string }> =>
    process.getuid?.() === 0
      ? run("runuser", ["-u", OWNER, "--", join(BIN, command), ...args], { cwd: dir })
      : run(join(BIN, command), args, { cwd: dir });
  const options = `-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`;
  let running = false;

  const start = async (): Promise<void> => {
    try {
      await asOwner("pg_ctl", ["-D", dataDir, "-l", join(dir, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
    } catch (error) {
      throw new Error(`throwaway Postgres did not start on port ${port}: ${describe(error)}`, { cause: error });
    }
    running = true;
  };
  const stop = async (): Promise<void> => {
    if (!running) return;
    running = false;
    await asOwner("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
  };

  try {
    await asOwner("initdb", ["-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]);
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not create a throwaway Postgres in ${dir}: ${describe(error)}`, { cause: error });
  }

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    destroy: async () => {
      await stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ownerIds(): Promise<[number, number]> {
  if (process.getuid?.() !== 0) return [process.getuid?.() ?? 0, process.getgid?.() ?? 0];
  const [uid, gid] = await Promise.all([run("id", ["-u", OWNER]), run("id", ["-g", OWNER])]);
  return [Number(uid.stdout.trim()), Number(gid.stdout.trim())];
}

function describe(error: unknown): string {
  if (error && typeof error === "object" && "stderr" in error) return `${String(error)}\n${String((error as { stderr: unknown }).stderr)}`;
  return String(error);
}
