import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Machine } from "./machine.ts";
import { ROOT } from "./processes.ts";
import { formatNumber, formatRatio, type ResultRow, type ScenarioOutput } from "./results.ts";

export interface Report extends ScenarioOutput {
  startedAt: string;
  command: string;
  profile: string;
  machine: Machine;
  /** Scenarios that threw: the run fails. */
  failures: { scenario: string; error: string }[];
  /** 1-minute load average when the run ended. */
  loadAverageAtEnd: number;
}

const START = "<!-- bench:results:start -->";
const END = "<!-- bench:results:end -->";

/** Column names ending like this are ratios, shown as percentages. */
const isRatio = (column: string): boolean => column.endsWith("vs bare") || column.endsWith("vs ceiling");

function tables(rows: ResultRow[]): { scenario: string; header: string[]; lines: string[][] }[] {
  const scenarios = [...new Set(rows.map((row) => row.scenario))];
  return scenarios.map((scenario) => {
    const inScenario = rows.filter((row) => row.scenario === scenario);
    const columns = [...new Set(inScenario.flatMap((row) => Object.keys(row.metrics)))];
    const withNotes = inScenario.some((row) => row.note);
    const header = ["case", "system", ...columns, ...(withNotes ? ["note"] : [])];
    const lines = inScenario.map((row) => [
      row.case,
      row.system,
      ...columns.map((column) => {
        const value = row.metrics[column];
        if (value === undefined) return "";
        return isRatio(column) ? formatRatio(value) : formatNumber(value);
      }),
      ...(withNotes ? [row.note ?? ""] : []),
    ]);
    return { scenario, header, lines };
  });
}

/** Plain aligned tables for the terminal. */
export function printReport(report: Report, print: (line: string) => void): void {
  for (const { scenario, header, lines } of tables(report.rows)) {
    print(`\n${scenario}`);
    const widths = header.map((cell, column) => Math.max(cell.length, ...lines.map((line) => (line[column] ?? "").length)));
    for (const line of [header, ...lines]) print(line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  "));
  }
  print("\nTargets");
  for (const check of report.checks) {
    print(`  [${check.met ? "met" : "NOT MET"}] ${check.scenario} — ${check.case}: ${check.target}; measured ${check.measured}${check.caveat ? ` (${check.caveat})` : ""}`);
  }
  for (const problem of report.problems) print(`PROBLEM: ${problem}`);
  for (const failure of report.failures) print(`FAILED: ${failure.scenario}: ${failure.error}`);
}

export function markdown(report: Report): string {
  const { machine } = report;
  const out: string[] = [
    `Run ${report.startedAt}, profile \`${report.profile}\`, command \`${report.command}\`.`,
    "",
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, Linux ${machine.kernel}; ` +
      `Bun ${machine.bun}, Node ${machine.node}, Postgres ${machine.postgres}, Redis ${machine.redis}, Socket.IO ${machine.socketIo}. ` +
      `1-minute load average ${machine.loadAverage.toFixed(1)} at the start and ${report.loadAverageAtEnd.toFixed(1)} at the end of the run.`,
  ];
  for (const { scenario, header, lines } of tables(report.rows)) {
    out.push("", `#### ${scenario}`, "", `| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`);
    for (const line of lines) out.push(`| ${line.join(" | ")} |`);
  }
  out.push("", "#### Targets", "", "| | scenario | case | target | measured |", "|---|---|---|---|---|");
  for (const check of report.checks) {
    const measured = check.caveat ? `${check.measured} — ${check.caveat}` : check.measured;
    out.push(`| ${check.met ? "met" : "**not met**"} | ${check.scenario} | ${check.case} | ${check.target} | ${measured} |`);
  }
  const notMet = report.checks.filter((check) => !check.met);
  out.push("", "#### Not yet met", "");
  if (notMet.length === 0) out.push("Every target was met in this run.");
  for (const check of notMet) out.push(`- ${check.scenario}, ${check.case}: ${check.target} — measured ${check.measured}.`);
  if (report.problems.length + report.failures.length > 0) {
    out.push("", "#### Errors in this run", "");
    for (const problem of report.problems) out.push(`- ${problem}`);
    for (const failure of report.failures) out.push(`- ${failure.scenario} failed: ${failure.error.split("\n")[0]}`);
  }
  return out.join("\n");
}

/** bench/results/<timestamp>.json (gitignored); returns its path. */
export function saveReport(report: Report): string {
  const directory = join(ROOT, "bench/results");
  mkdirSync(directory, { recursive: true });
  const path = join(directory, `${report.startedAt.replace(/[:.]/g, "-")}.json`);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

/** Replaces what lies between the results markers of BENCHMARKS.md; the method text around them stays. */
export function writeBenchmarksMd(report: Report, heading: string): void {
  const path = join(ROOT, "BENCHMARKS.md");
  const current = readFileSync(path, "utf8");
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  if (start < 0 || end < start) throw new Error(`BENCHMARKS.md has no ${START} … ${END} section`);
  const section = `${START}\n${heading}\n\n${markdown(report)}\n${END}`;
  writeFileSync(path, current.slice(0, start) + section + current.slice(end + END.length));
}
