import type { inferRouterInputs } from "@trpc/server";
import type { AppRouter } from "../../src/contract.ts";
import { checkpoint, type HistoryCall, type HistoryJob, type HistoryPhase, type HistoryPhaseResult, type HistoryResult, type LatencySummary } from "../lib/jobs.ts";
import { LatencyRecorder } from "../lib/stats.ts";
import { checkpointReached, progress } from "./control.ts";
import { api } from "./parley-api.ts";

type ListInput = inferRouterInputs<AppRouter>["messages"]["list"];
type SearchInput = inferRouterInputs<AppRouter>["messages"]["search"];

/** What one request answered: how many messages or hits, or why it failed. */
type Answer = { ok: true; items: number } | { ok: false; status: number; error: string };

/** The same pages and rooms on every run: a small seeded generator (mulberry32). */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One tRPC query as its own HTTP GET (no batching: each timed request is one call), answered when the whole body
 * has arrived.
 */
async function query(url: string, accessToken: string, procedure: string, input: unknown): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  return { status: response.status, body: await response.text() };
}

function answerOf(status: number, body: string, items: (data: unknown) => number): Answer {
  if (status !== 200) return { ok: false, status, error: body.slice(0, 300) };
  const parsed = JSON.parse(body) as { result?: { data?: unknown } };
  return { ok: true, items: items(parsed.result?.data) };
}

function listInput(job: HistoryJob, call: Extract<HistoryCall, { procedure: "messages.list" }>, random: () => number): ListInput {
  const room = call.room === "big" ? job.rooms[0] : job.rooms[Math.floor(random() * job.rooms.length)];
  if (!room) throw new Error("the reader has no rooms");
  const seq = 1 + Math.floor(random() * room.lastSeq);
  if (call.page === "before") return { roomId: room.id, before: seq, limit: 50 };
  if (call.page === "around") return { roomId: room.id, around: seq, limit: 50 };
  return { roomId: room.id, limit: 50 };
}

async function listPage(url: string, accessToken: string, input: ListInput): Promise<Answer> {
  const { status, body } = await query(url, accessToken, "messages.list", input);
  return answerOf(status, body, (data) => (data as { messages: unknown[] }).messages.length);
}

function searchInput(job: HistoryJob, call: Extract<HistoryCall, { procedure: "messages.search" }>): SearchInput {
  return call.room === "big" ? { query: call.query, roomId: job.rooms[0]?.id, limit: 20 } : { query: call.query, limit: 20 };
}

async function search(url: string, accessToken: string, input: SearchInput): Promise<Answer> {
  const { status, body } = await query(url, accessToken, "messages.search", input);
  return answerOf(status, body, (data) => (data as { hits: unknown[] }).hits.length);
}

/** What a run of requests gave: the answered ones' latencies, items per answer, failures. */
interface Driven {
  latency: LatencyRecorder;
  answered: number;
  items: number;
  errors: number;
  firstError?: string;
  windowMs: number;
}

/**
 * `readers` loops that each send their next request as soon as the previous one is answered, until `requests`
 * have been sent or `maxMs` has passed (a request in flight then still finishes). Latency is request start → whole
 * body received, on this process's clock.
 */
async function drive(ask: () => Promise<Answer>, readers: number, requests: number, maxMs: number): Promise<Driven> {
  const driven: Driven = { latency: new LatencyRecorder(), answered: 0, items: 0, errors: 0, windowMs: 0 };
  let sent = 0;
  const started = performance.now();
  const deadline = started + maxMs;
  await Promise.all(
    Array.from({ length: readers }, async () => {
      while (sent < requests && performance.now() < deadline) {
        sent += 1;
        const at = performance.now();
        const answer = await ask();
        const ms = performance.now() - at;
        if (answer.ok) {
          driven.latency.record(ms);
          driven.items += answer.items;
          driven.answered += 1;
        } else {
          driven.errors += 1;
          driven.firstError ??= `${answer.status} ${answer.error}`;
        }
      }
    }),
  );
  driven.windowMs = performance.now() - started;
  return driven;
}

/**
 * Runs each phase in turn: a warm-up (`warmupPerReader` requests per reader, not timed), then the same call from
 * one reader alone (a quarter of the requests: what a request costs when nothing queues), then from `readers`
 * concurrent readers between the checkpoints `start:<label>` and `end:<label>` (the server's CPU is read there).
 */
export async function runHistory(job: HistoryJob): Promise<HistoryResult> {
  const url = job.target.urls[0] as string;
  const signedIn = await api(url).auth.login.mutate({ login: job.reader.email, password: job.reader.password, refreshTokenIn: "body" });
  const token = signedIn.accessToken;
  const random = randomSource(9);
  const overall = new Map<HistoryCall["procedure"], LatencyRecorder>();

  const ask = (call: HistoryCall): Promise<Answer> =>
    call.procedure === "messages.list" ? listPage(url, token, listInput(job, call, random)) : search(url, token, searchInput(job, call));

  async function runPhase(phase: HistoryPhase): Promise<HistoryPhaseResult> {
    const next = (): Promise<Answer> => ask(phase.call);
    await drive(next, job.readers, job.readers * job.warmupPerReader, phase.maxMs / 4);
    const serial = await drive(next, 1, Math.ceil(phase.requests / 4), phase.maxMs / 2);
    await checkpointReached(checkpoint.start(phase.label));
    const concurrent = await drive(next, job.readers, phase.requests, phase.maxMs);
    await checkpointReached(checkpoint.end(phase.label));
    const pooled = overall.get(phase.call.procedure) ?? new LatencyRecorder();
    overall.set(phase.call.procedure, pooled);
    pooled.add(concurrent.latency);
    const summary = concurrent.latency.summary();
    const errors = serial.errors + concurrent.errors;
    progress(
      `history: ${phase.label}: ${concurrent.answered} answers in ${(concurrent.windowMs / 1000).toFixed(1)} s, ` +
        `p50 ${summary.p50.toFixed(2)} ms, p99 ${summary.p99.toFixed(2)} ms (1 reader: p50 ${serial.latency.summary().p50.toFixed(2)} ms)${errors ? `, ${errors} errors` : ""}`,
    );
    const firstError = serial.firstError ?? concurrent.firstError;
    return {
      label: phase.label,
      procedure: phase.call.procedure,
      requests: concurrent.answered,
      windowMs: concurrent.windowMs,
      latency: summary,
      serial: serial.latency.summary(),
      itemsPerAnswer: concurrent.answered > 0 ? concurrent.items / concurrent.answered : 0,
      errors,
      ...(firstError ? { firstError } : {}),
    };
  }

  const phases: HistoryPhaseResult[] = [];
  for (const phase of job.phases) phases.push(await runPhase(phase));
  const pooled: Partial<Record<HistoryCall["procedure"], LatencySummary>> = {};
  for (const [procedure, recorder] of overall) pooled[procedure] = recorder.summary();
  return { phases, overall: pooled };
}
