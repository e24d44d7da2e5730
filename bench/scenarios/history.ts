import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SearchMessagesInput } from "../../src/domain/search/search.schema.ts";
import { createPgliteDatabase } from "../../src/infra/db/pglite.ts";
import { createPostgresDatabase } from "../../src/infra/db/postgres.ts";
import { type ExplainCall, type ExplainedCall, explainReads } from "../lib/history-explain.ts";
import { type HistoryShape, type SeededHistory, seedHistory } from "../lib/history-seed.ts";
import { PHRASE, RARE_WORD } from "../lib/history-vocabulary.ts";
import type { HistoryJob, HistoryPhase, HistoryPhaseResult, HistoryResult, LatencySummary } from "../lib/jobs.ts";
import { createCpuMeter, type PhaseUsage, runLoadgen } from "../lib/loadgen-runner.ts";
import { emptyOutput, formatNumber, type ResultRow, type ScenarioOutput } from "../lib/results.ts";
import { ROOT } from "../lib/processes.ts";
import { loggedErrors } from "../lib/servers.ts";
import { type ScenarioContext, withParley } from "./context.ts";

const LIST_P99_TARGET_MS = 5;
const SEARCH_P99_TARGET_MS = 50;
const READER_ROOMS = 100;

/** The reader's 100 rooms hold `events`; 100 rooms they are not in hold a fifth as many again. */
function shapeFor(events: number): HistoryShape {
  return { events, readerRooms: READER_ROOMS, bigRoomShare: 0.5, bigRoomMembers: 300, otherEvents: Math.round(events * 0.2), otherRooms: 100, users: 1000 };
}

/** What the readers ask, phase by phase: pages of the timeline, then searches of each kind, across rooms and in one. */
function phases(profile: ScenarioContext["options"]["profile"]["history"]): HistoryPhase[] {
  const list = (label: string, call: Omit<Extract<HistoryPhase["call"], { procedure: "messages.list" }>, "procedure">): HistoryPhase => ({
    label: `list: ${label}`,
    call: { procedure: "messages.list", ...call },
    requests: profile.listRequests,
    maxMs: profile.maxMs,
  });
  const searches: { label: string; query: string }[] = [
    { label: `rare word "${RARE_WORD}" (~25 messages)`, query: RARE_WORD },
    { label: `common word "meeting" (~3 %)`, query: "meeting" },
    { label: `very common word "the" (~50 %)`, query: "the" },
    { label: `prefix "dep" (~6 %)`, query: "dep" },
    { label: `phrase "${PHRASE}" (~0.3 %)`, query: `"${PHRASE}"` },
    { label: `non-Latin word "привет" (~0.5 %)`, query: "привет" },
  ];
  return [
    list("newest page, any room", { page: "newest", room: "any" }),
    list("page before a random seq, big room", { page: "before", room: "big" }),
    list("page around a random seq, any room", { page: "around", room: "any" }),
    ...searches.flatMap(({ label, query }) =>
      (["all", "big"] as const).map((room) => ({
        label: `search: ${label}, ${room === "all" ? `all ${READER_ROOMS} rooms` : "big room"}`,
        call: { procedure: "messages.search" as const, query, room },
        requests: profile.searchRequests,
        maxMs: profile.maxMs,
      })),
    ),
  ];
}

/**
 * One representative request per phase, for EXPLAIN ANALYZE: the big room's newest page, a page halfway back in it,
 * a page around a third of the way in, and each search as the readers send it.
 */
function explainCalls(seeded: SeededHistory, phaseList: readonly HistoryPhase[]): ExplainCall[] {
  const big = seeded.rooms[0];
  if (!big) return [];
  const calls: ExplainCall[] = [];
  for (const phase of phaseList) {
    const call = phase.call;
    if (call.procedure === "messages.search") {
      const input = SearchMessagesInput.parse({ query: call.query, limit: 20, ...(call.room === "big" ? { roomId: big.id } : {}) });
      calls.push({ label: phase.label, run: (services, readerId) => services.search.search(readerId, input) });
      continue;
    }
    const page = call.page === "before" ? { before: Math.floor(big.lastSeq / 2) } : call.page === "around" ? { around: Math.floor(big.lastSeq / 3) } : {};
    calls.push({ label: phase.label, run: (services, readerId) => services.messages.list(readerId, { roomId: big.id, limit: 50, ...page }) });
  }
  return calls;
}

/** Every explained statement and its plan, for reading after the run (bench/results is not committed). */
function savePlans(system: string, explained: readonly ExplainedCall[]): string {
  const directory = join(ROOT, "bench/results");
  mkdirSync(directory, { recursive: true });
  const path = join(directory, `history-explain-${system}-${new Date().toISOString().replace(/[:.]/g, "-")}.md`);
  const text = explained.flatMap((call) => [
    `## ${call.label}: ${call.executionMs.toFixed(2)} ms in the database`,
    "",
    ...call.statements.flatMap((statement) => ["```sql", statement.sql, "```", "", "```", statement.plan, "```", ""]),
  ]);
  writeFileSync(path, `${text.join("\n")}\n`);
  return path;
}

interface Measured {
  system: "postgres" | "pglite";
  seeded: SeededHistory;
  result: HistoryResult;
  /** The server's CPU over each phase's concurrent part, by phase label. */
  usage: Map<string, PhaseUsage>;
  /** One request per phase under EXPLAIN ANALYZE, by phase label. */
  explained: Map<string, ExplainedCall>;
  /** Error lines the server logged. */
  serverErrors: string[];
}

function latencyMetrics(latency: LatencySummary): Record<string, number> {
  return { "p50 ms": latency.p50, "p95 ms": latency.p95, "p99 ms": latency.p99, "max ms": latency.max };
}

/** "p99 3.10 ms over 6,000 pages (worst: …)" for a target line. */
function describe(result: HistoryResult, procedure: HistoryPhaseResult["procedure"], unit: string): string {
  const pooled = result.overall[procedure];
  const own = result.phases.filter((phase) => phase.procedure === procedure);
  if (!pooled || own.length === 0) return "not measured";
  const worst = own.reduce((a, b) => (b.latency.p99 > a.latency.p99 ? b : a));
  return `p99 ${formatNumber(pooled.p99)} ms over ${formatNumber(pooled.count)} ${unit} (p50 ${formatNumber(pooled.p50)} ms; worst: ${worst.label}, p99 ${formatNumber(worst.latency.p99)} ms)`;
}

/** Seeds a fresh database of the kind, explains one request per phase, starts one instance on it and reads. */
async function measureOn(context: ScenarioContext, system: Measured["system"], events: number): Promise<Measured> {
  const settings = context.options.profile.history;
  // Filled by `prepare`, before the instance starts.
  const prepared: { seeded?: SeededHistory } = {};
  const usage = new Map<string, PhaseUsage>();
  const explained = new Map<string, ExplainedCall>();
  const serverErrors: string[] = [];
  const phaseList = phases(settings);
  const result = await withParley(
    context,
    "history",
    1,
    async ([server]) => {
      const seeded = prepared.seeded;
      if (!server || !seeded) throw new Error("no server or no seeded history");
      const job: HistoryJob = {
        kind: "history",
        target: { kind: "parley", urls: [server.url] },
        reader: { email: seeded.reader.email, password: seeded.reader.password },
        rooms: seeded.rooms,
        readers: settings.readers,
        warmupPerReader: settings.warmupPerReader,
        phases: phaseList,
      };
      const meter = createCpuMeter(() => [server.process]);
      const answer = await runLoadgen(job, meter.onCheckpoint, (message) => context.log(`  ${message}`));
      if (answer.kind !== "history") throw new Error(`unexpected ${answer.kind} result`);
      for (const phase of answer.phases) usage.set(phase.label, meter.usage(phase.label));
      serverErrors.push(...loggedErrors(server));
      return answer;
    },
    {
      database: system === "postgres" ? "postgres" : "embedded",
      async prepare(target) {
        const database =
          target.kind === "postgres"
            ? await createPostgresDatabase({ url: target.url, poolSize: 1 })
            : await createPgliteDatabase({ dataDir: `${target.dataDir}/pglite`, runtime: "node" });
        let seeded: SeededHistory;
        try {
          seeded = await seedHistory(database, shapeFor(events), (message) => context.log(`  ${system} ${message}`));
        } finally {
          await database.close();
        }
        prepared.seeded = seeded;
        const where = target.kind === "postgres" ? target : { kind: "pglite" as const, dataDir: `${target.dataDir}/pglite` };
        const plans = await explainReads(where, seeded.reader.userId, explainCalls(seeded, phaseList));
        for (const call of plans) explained.set(call.label, call);
        context.log(`  ${system} query plans: ${savePlans(system, plans)}`);
      },
    },
  );
  if (!prepared.seeded) throw new Error("the history was not seeded");
  return { system, seeded: prepared.seeded, result, usage, explained, serverErrors };
}

/**
 * A long room history (issue 9): one reader in 100 rooms holding `events` events (one big room with half of them),
 * beside 100 rooms they are not in, seeded with SQL (bench/lib/history-seed.ts) into a fresh database, then read
 * through one Parley instance over HTTP by `readers` concurrent readers: pages of `messages.list` and
 * `messages.search` queries of several selectivities. On Postgres against the targets, then on the embedded PGlite.
 */
export async function historyScenario(context: ScenarioContext): Promise<ScenarioOutput> {
  const output = emptyOutput();
  const settings = context.options.profile.history;
  const scenario = `Room history: one reader in ${READER_ROOMS} rooms, ${settings.readers} concurrent readers over HTTP`;
  const measured: Measured[] = [];
  for (const { system, events } of [
    { system: "postgres" as const, events: settings.events },
    { system: "pglite" as const, events: settings.embeddedEvents },
  ]) {
    context.log(`history: ${system}, ${formatNumber(events)} events in the reader's rooms`);
    try {
      const entry = await measureOn(context, system, events);
      measured.push(entry);
      for (const phase of entry.result.phases) {
        if (phase.errors > 0) output.problems.push(`${scenario}, ${system}, ${phase.label}: ${phase.errors} failed requests (${phase.firstError ?? ""})`);
      }
      for (const error of entry.serverErrors) output.problems.push(`${scenario}, ${system}: the server logged an error: ${error.slice(0, 300)}`);
    } catch (error) {
      // One database failing (PGlite out of memory on a large history, say) still leaves the other's figures.
      output.problems.push(`${scenario}, ${system}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }

  const postgres = measured.find((entry) => entry.system === "postgres");
  const largest = postgres?.seeded.readerRoomEvents ?? 0;
  const seedScenario = "Room history: the seeded data";
  for (const { system, seeded } of measured) {
    const byType = seeded.eventsByType;
    const total = Object.values(byType).reduce((sum, count) => sum + count, 0);
    output.rows.push({
      scenario: seedScenario,
      case: system === "postgres" ? "Postgres" : "PGlite (embedded)",
      system,
      metrics: {
        "events, reader's rooms": seeded.readerRoomEvents,
        "events, other rooms": seeded.otherRoomEvents,
        messages: seeded.messages,
        "message.created %": ((byType["message.created"] ?? 0) / total) * 100,
        "edited %": ((byType["message.edited"] ?? 0) / total) * 100,
        "reaction.added %": ((byType["reaction.added"] ?? 0) / total) * 100,
        "deleted %": ((byType["message.deleted"] ?? 0) / total) * 100,
        "member.joined %": ((byType["member.joined"] ?? 0) / total) * 100,
        [`"${RARE_WORD}" visible`]: seeded.visible.rare,
        [`"${PHRASE}" visible`]: seeded.visible.phrase,
        "seed s": seeded.seconds,
      },
    });
  }

  const labels = [...new Set(measured.flatMap(({ result }) => result.phases.map((phase) => phase.label)))];
  const row = (entry: Measured, label: string, latency: LatencySummary, extra: Record<string, number>): ResultRow => ({
    scenario,
    case: label,
    system: entry.system,
    metrics: { events: entry.seeded.readerRoomEvents, ...extra, ...latencyMetrics(latency) },
    ...(entry.system === "pglite" && entry.seeded.readerRoomEvents < largest
      ? { note: `smaller history than Postgres's (${formatNumber(entry.seeded.readerRoomEvents)} events)` }
      : {}),
  });
  for (const label of labels) {
    for (const entry of measured) {
      const phase = entry.result.phases.find((candidate) => candidate.label === label);
      const cpu = entry.usage.get(label);
      if (phase && cpu) {
        output.rows.push(
          row(entry, label, phase.latency, {
            requests: phase.requests,
            "req/s": (phase.requests * 1000) / phase.windowMs,
            "items/answer": phase.itemsPerAnswer,
            "server CPU %": (cpu.serverCpuSeconds / cpu.wallSeconds) * 100,
            "server CPU ms/req": (cpu.serverCpuSeconds * 1000) / Math.max(1, phase.requests),
            "DB ms/req (EXPLAIN)": entry.explained.get(label)?.executionMs ?? Number.NaN,
            "load gen CPU %": (cpu.loadgenCpuSeconds / cpu.wallSeconds) * 100,
            "1 reader p50 ms": phase.serial.p50,
            "1 reader p99 ms": phase.serial.p99,
          }),
        );
      }
    }
  }
  for (const procedure of ["messages.list", "messages.search"] as const) {
    for (const entry of measured) {
      const pooled = entry.result.overall[procedure];
      if (pooled) output.rows.push(row(entry, `${procedure}, every phase together`, pooled, { requests: pooled.count }));
    }
  }

  if (postgres) {
    const events = `${formatNumber(postgres.seeded.readerRoomEvents)} events, Postgres`;
    const listP99 = postgres.result.overall["messages.list"]?.p99 ?? Number.NaN;
    output.checks.push({
      scenario,
      case: `messages.list, ${events}`,
      target: `page p99 ≤ ${LIST_P99_TARGET_MS} ms`,
      measured: describe(postgres.result, "messages.list", "pages"),
      met: listP99 <= LIST_P99_TARGET_MS,
    });
    const searchP99 = postgres.result.overall["messages.search"]?.p99 ?? Number.NaN;
    output.checks.push({
      scenario,
      case: `messages.search, ${events}`,
      target: `p99 ≤ ${SEARCH_P99_TARGET_MS} ms`,
      measured: describe(postgres.result, "messages.search", "searches"),
      met: searchP99 <= SEARCH_P99_TARGET_MS,
    });
  }
  return output;
}
