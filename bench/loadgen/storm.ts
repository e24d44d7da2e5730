import { mapConcurrently } from "../../src/lib/concurrency.ts";
import { checkpoint, type StormJob, type StormResult } from "../lib/jobs.ts";
import { LatencyRecorder } from "../lib/stats.ts";
import { checkpointReached, progress, sleep, waitUntil } from "./control.ts";
import { api, type BenchUser, createRooms, registerUsers, socketUrl } from "./parley-api.ts";

const CONNECT_CONCURRENCY = 100;

/** One client, as the SDK keeps it: its positions per room, and whether it is connected. */
interface StormClient {
  user: BenchUser;
  positions: Map<string, { seq: number; epoch: number }>;
  ws: WebSocket | null;
  attempt: number;
  /** When it last became ready (performance.now()). */
  readyAt: number;
  wanted: boolean;
}

/**
 * A reconnect storm against one server, clients behaving like the SDK: on a close, wait a full-jitter delay
 * (doubling ceiling), mint a ticket that carries the resume positions, open the socket; `ready` ends the attempt.
 * The orchestrator stops the server at the `storm:stop` checkpoint and starts another on the same port.
 */
export async function runStorm(job: StormJob): Promise<StormResult> {
  const url = job.target.urls[0] as string;
  const users = await registerUsers(url, Math.min(job.users, job.clients));
  const rooms = Math.min(job.rooms, users.length);
  const roomIds = await createRooms(url, rooms, (room) => users[room]!, (room) => users.filter((user) => user.index % rooms === room));
  const clients: StormClient[] = Array.from({ length: job.clients }, (_, index) => ({
    user: users[index % users.length]!,
    positions: new Map(),
    ws: null,
    attempt: 0,
    readyAt: 0,
    wanted: true,
  }));
  const attempts = { total: 0, refused: 0, unavailable: 0, failed: 0 };
  const resumes = { recovered: 0, unrecovered: 0 };
  let presenceFrames = 0;
  let countPresence = false;

  function receive(client: StormClient, data: string, onReady: () => void): void {
    if (data.startsWith('{"type":"message.created"') || data.startsWith('{"type":"member.')) {
      // A logged room event: the room's position moves on (the epoch it is in came with `ready`).
      const event = JSON.parse(data) as { roomId: string; seq: number };
      const known = client.positions.get(event.roomId);
      if (known && event.seq > known.seq) known.seq = event.seq;
    } else if (data.startsWith('{"type":"presence"')) {
      if (countPresence) presenceFrames += 1;
    } else if (data.startsWith('{"type":"ready"')) {
      const event = JSON.parse(data) as { rooms: { roomId: string; lastSeq: number; epoch: number }[] };
      for (const room of event.rooms) {
        const known = client.positions.get(room.roomId);
        if (!known || known.epoch !== room.epoch || known.seq < room.lastSeq) client.positions.set(room.roomId, { seq: room.lastSeq, epoch: room.epoch });
      }
      onReady();
    } else if (data.startsWith('{"type":"resumed"')) {
      const event = JSON.parse(data) as { recovered: boolean };
      if (event.recovered) resumes.recovered += 1;
      else resumes.unrecovered += 1;
    }
  }

  /**
   * One attempt: a ticket (with resume positions), then the socket until `ready`. Resolves true once there, else with
   * when the server said to come back (a refused ticket's retryAfterSeconds, as the SDK honours it) or null.
   */
  async function attempt(client: StormClient): Promise<true | { retryAfterMs: number | null }> {
    attempts.total += 1;
    let ticket: string;
    try {
      const response = await fetch(`${url}/trpc/auth.wsTicket`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${client.user.accessToken}` },
        body: JSON.stringify({ resume: Object.fromEntries(client.positions) }),
      });
      if (!response.ok) {
        const body = await response.text();
        if (response.status === 503) attempts.unavailable += 1;
        else {
          attempts.failed += 1;
          if (attempts.failed <= 3) progress(`ticket refused: ${response.status} ${body.slice(0, 200)}`);
        }
        return { retryAfterMs: retryAfterMsOf(body) };
      }
      ticket = ((await response.json()) as { result: { data: { ticket: string } } }).result.data.ticket;
    } catch {
      attempts.refused += 1;
      return { retryAfterMs: null };
    }
    return new Promise((resolve) => {
      const ws = new WebSocket(socketUrl(url, ticket));
      client.ws = ws;
      let ready = false;
      ws.onmessage = (event: MessageEvent<string>) =>
        receive(client, event.data, () => {
          ready = true;
          client.readyAt = performance.now();
          client.attempt = 0;
          resolve(true);
        });
      ws.onerror = () => undefined;
      ws.onclose = () => {
        client.ws = null;
        if (!ready) {
          // Bun's client reports a refused upgrade as a close without a code we can read; 1002/1006 it is.
          attempts.failed += 1;
          resolve({ retryAfterMs: null });
          return;
        }
        if (client.wanted) scheduleReconnect(client, null);
      };
    });
  }

  function scheduleReconnect(client: StormClient, retryAfterMs: number | null): void {
    const ceiling = Math.min(job.backoff.maxDelayMs, job.backoff.minDelayMs * 2 ** Math.min(client.attempt, 30));
    client.attempt += 1;
    const delay = retryAfterMs === null ? Math.floor(Math.random() * ceiling) : retryAfterMs + Math.floor(Math.random() * retryAfterMs);
    setTimeout(() => {
      void attempt(client).then((outcome) => {
        if (outcome !== true && client.wanted) scheduleReconnect(client, outcome.retryAfterMs);
      });
    }, delay);
  }

  await mapConcurrently(clients, CONNECT_CONCURRENCY, async (client) => {
    for (let tries = 0; (await attempt(client)) !== true; tries++) {
      if (tries > 5) throw new Error("a client could not connect before the storm");
      await sleep(200);
    }
  });
  progress(`${clients.length} clients connected`);

  // Messages keep flowing, so the clients have something to resume.
  let flowing = true;
  let sent = 0;
  const sender = users[0]!;
  const flow = (async () => {
    const every = 1000 / Math.max(1, job.messagesPerSecond);
    while (flowing) {
      const roomId = roomIds[sent % roomIds.length]!;
      sent += 1;
      api(url, sender.accessToken)
        .messages.send.mutate({ roomId, clientMsgId: `storm-${sent}-${Math.random().toString(36).slice(2, 10)}`, body: `storm ${sent}` })
        .catch(() => undefined); // refused while the server is down: what matters is what did commit
      await sleep(every);
    }
  })();
  await sleep(2000);

  Object.assign(attempts, { total: 0, refused: 0, unavailable: 0, failed: 0 });
  Object.assign(resumes, { recovered: 0, unrecovered: 0 });
  await checkpointReached(checkpoint.stormStop);
  const stoppedAt = performance.now();
  countPresence = true;

  const back = (): number => clients.filter((client) => client.readyAt > stoppedAt).length;
  await waitUntil(() => back() === clients.length, job.timeoutMs);
  const recovered = back();
  countPresence = false;
  await checkpointReached(checkpoint.stormRecovered);
  flowing = false;
  await flow;
  const recovery = new LatencyRecorder();
  for (const client of clients) if (client.readyAt > stoppedAt) recovery.record(client.readyAt - stoppedAt);
  for (const client of clients) {
    client.wanted = false;
    client.ws?.close();
  }
  return {
    clients: clients.length,
    recovered,
    recovery: recovery.summary(),
    attempts,
    resumes,
    presenceFrames,
  };
}

/** A refused call's `error.data.retryAfterSeconds` (tRPC), in ms; null when the answer did not say. */
function retryAfterMsOf(body: string): number | null {
  try {
    const seconds = (JSON.parse(body) as { error?: { data?: { retryAfterSeconds?: unknown } } }).error?.data?.retryAfterSeconds;
    return typeof seconds === "number" && seconds > 0 ? seconds * 1000 : null;
  } catch {
    return null;
  }
}
