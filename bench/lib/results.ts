/** What every scenario reports: measured rows, checks against the targets, and problems that fail the run. */

export interface ResultRow {
  /** The table the row belongs to, e.g. "Ephemeral fan-out, 1000 clients". */
  scenario: string;
  /** What varies inside the table, e.g. "10 senders". */
  case: string;
  /** "parley", "bare-bun", "socket.io", "pg-ceiling", … */
  system: string;
  /** Column name → value; the column name carries the unit ("p99 ms", "delivered/s"). */
  metrics: Record<string, number>;
  note?: string;
}

export interface TargetCheck {
  scenario: string;
  case: string;
  /** e.g. "delivered/s ≥ 70 % of bare Bun". */
  target: string;
  /** What was measured, formatted with its unit (and the ratio when the target is one). */
  measured: string;
  met: boolean;
  /** Why the figure may not mean what it says (e.g. the load generator was the bottleneck). */
  caveat?: string;
}

export interface ScenarioOutput {
  rows: ResultRow[];
  checks: TargetCheck[];
  /** Errors that make the run fail: lost or duplicated messages, refused frames, dropped sockets. */
  problems: string[];
}

export function emptyOutput(): ScenarioOutput {
  return { rows: [], checks: [], problems: [] };
}

export function merge(into: ScenarioOutput, from: ScenarioOutput): void {
  into.rows.push(...from.rows);
  into.checks.push(...from.checks);
  into.problems.push(...from.problems);
}

/** Numbers for tables: thousands separated, more decimals the smaller they are. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "—";
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(0)} %` : "—";
}
