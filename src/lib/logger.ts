import { AsyncLocalStorage } from "node:async_hooks";
import { logSafe } from "./log-safe.ts";

/**
 * Structured JSON logs on stdout, one object per line. A log call never throws, whatever its fields hold (BigInts,
 * cycles, errors with causes); personal data is kept out by `logSafe` (see there).
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  /**
   * Runs `task` with `fields` on every line logged while it runs — by this logger, its children and any logger
   * made from the same root, however deep in the call chain (the request id while serving a request).
   */
  scope<T>(fields: LogFields, task: () => T): T;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function createLogger(options: { level: LogLevel; base?: LogFields; write?: (line: string) => void }): Logger {
  const threshold = RANK[options.level];
  const write = options.write ?? ((line: string): void => void process.stdout.write(line + "\n"));
  // One store per root logger: its children share it, so a scope opened anywhere reaches every line below it.
  const scopes = new AsyncLocalStorage<LogFields>();

  const emit = (base: LogFields, level: Exclude<LogLevel, "silent">, msg: string, fields?: LogFields): void => {
    if (RANK[level] < threshold) return;
    let line: string;
    try {
      const entry = { time: new Date().toISOString(), level, msg, ...base, ...scopes.getStore(), ...fields };
      line = JSON.stringify(logSafe(entry));
    } catch (error) {
      // Only a getter that throws can get here; the line still says what happened.
      line = JSON.stringify({ time: new Date().toISOString(), level, msg, logError: String(error) });
    }
    try {
      write(line);
    } catch {
      // A closed stdout must not turn logging into a crash.
    }
  };

  const make = (base: LogFields): Logger => ({
    debug: (msg, fields) => emit(base, "debug", msg, fields),
    info: (msg, fields) => emit(base, "info", msg, fields),
    warn: (msg, fields) => emit(base, "warn", msg, fields),
    error: (msg, fields) => emit(base, "error", msg, fields),
    child: (fields) => make({ ...base, ...fields }),
    scope: (fields, task) => scopes.run({ ...scopes.getStore(), ...fields }, task),
  });
  return make(options.base ?? {});
}
