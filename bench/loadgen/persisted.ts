import { checkpoint, type PersistedJob, type PersistedResult } from "../lib/jobs.ts";
import { LatencyRecorder } from "../lib/stats.ts";
import { checkpointReached, progress, sleep, waitUntil } from "./control.ts";
import { ACK, ERROR, MESSAGE_CREATED, ackIndexOf, benchBody, bodyIndexOf, clientMsgId, readyPosition, seqOf } from "./message-frames.ts";
import { createRooms, fetchTickets, registerUsers, socketUrl } from "./parley-api.ts";
import { type BenchSocket, isParleyReady, openSockets } from "./sockets.ts";

/** After the last send, how long every socket may take to reach the room's final seq before the rest counts as lost. */
const DRAIN_TIMEOUT_MS = 20_000;
const TICK_MS = 5;

/**
 * Persisted messages at a fixed rate into one big room: `sendsPerSecond` spread over `senders` sockets (alternating
 * instances), every socket of the room timing each `message.created` against the moment its send left.
 * Every socket checks the room's seq: a gap counts as lost, a repeat as a duplicate.
 */
export async function runPersisted(job: PersistedJob): Promise<PersistedResult> {
  const urls = job.target.urls;
  const primary = urls[0] as string;
  const accounts = await registerUsers(primary, Math.max(job.senders, Math.min(job.users, job.clients)));
  const [roomId] = (await createRooms(primary, 1, () => accounts[0]!, () => accounts)) as [string];
  const placement = Array.from({ length: job.clients }, (_, index) => ({ url: urls[index % urls.length]!, user: accounts[index % accounts.length]! }));
  const tickets = await fetchTickets(placement);

  const sendTimes: number[] = [];
  const expected = new Float64Array(job.clients);
  const deliver = new LatencyRecorder();
  const ack = new LatencyRecorder();
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let delivered = 0;
  let acked = 0;
  let lost = 0;
  let duplicates = 0;
  let errors = 0;

  const onMessage = (socket: number) => (data: string): void => {
    if (data.startsWith(MESSAGE_CREATED)) {
      const now = performance.now();
      const seq = seqOf(data);
      const next = expected[socket] as number;
      if (seq < next) duplicates += 1;
      else if (seq > next) lost += seq - next;
      if (seq >= next) expected[socket] = seq + 1;
      const sentAt = sendTimes[bodyIndexOf(data)];
      if (sentAt !== undefined && sentAt >= windowStart && sentAt < windowEnd) deliver.record(now - sentAt);
      if (now >= windowStart && now < windowEnd) delivered += 1;
    } else if (data.startsWith(ACK)) {
      acked += 1;
      const sentAt = sendTimes[ackIndexOf(data)];
      if (sentAt !== undefined && sentAt >= windowStart && sentAt < windowEnd) ack.record(performance.now() - sentAt);
    } else if (data.startsWith(ERROR)) {
      errors += 1;
      if (errors <= 3) progress(`server refused a frame: ${data.slice(0, 200)}`);
    }
  };
  let closes = 0;
  const sockets: BenchSocket[] = await openSockets(
    placement.map(({ url }, index) => ({
      url: socketUrl(url, tickets[index]!),
      isReady: isParleyReady,
      onMessage: onMessage(index),
      onClose: () => (closes += 1),
    })),
  );
  sockets.forEach((socket, index) => (expected[index] = readyPosition(socket.ready, roomId) + 1));
  // The room's position before the first send (its members' joins took seqs); every send after it is a message.
  const start = Math.max(...expected) - 1;
  progress(`${job.clients} sockets in the room on ${urls.length} instance(s)`);

  // Senders are the first sockets: distinct users, alternating instances.
  const startedAt = performance.now();
  const pacer = setInterval(() => {
    const due = Math.floor(((performance.now() - startedAt) * job.sendsPerSecond) / 1000);
    while (sendTimes.length < due) {
      const index = sendTimes.length;
      sendTimes.push(performance.now());
      const frame = JSON.stringify({ type: "send", roomId, clientMsgId: clientMsgId(index), body: benchBody(index) });
      (sockets[index % job.senders] as BenchSocket).send(frame);
    }
  }, TICK_MS);
  await sleep(job.warmupMs);
  windowStart = performance.now();
  await checkpointReached(checkpoint.start("persisted"));
  await sleep(job.measureMs);
  windowEnd = performance.now();
  await checkpointReached(checkpoint.end("persisted"));
  clearInterval(pacer);

  const sent = sendTimes.length;
  // Every send goes to this room and seq is gapless: the room's last seq is its start plus the sends acked.
  const finalSeq = (): number => start + acked;
  await waitUntil(() => acked + errors >= sent && expected.every((next) => next - 1 >= finalSeq()), DRAIN_TIMEOUT_MS);
  for (const next of expected) lost += Math.max(0, finalSeq() - (next - 1));
  sockets.forEach((socket) => socket.close());
  return {
    sent,
    acked,
    delivered,
    windowMs: windowEnd - windowStart,
    deliver: deliver.summary(),
    ack: ack.summary(),
    lost,
    duplicates,
    errors: errors + closes + Math.max(0, sent - acked - errors),
  };
}
