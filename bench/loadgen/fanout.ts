import type { FanoutJob, FanoutPhase } from "../lib/jobs.ts";
import { LatencyRecorder } from "../lib/stats.ts";
import { checkpoint } from "../lib/jobs.ts";
import { checkpointReached, progress, sleep, waitUntil } from "./control.ts";
import { joinFanoutRoom, senderKeyOf, type TypingPayload } from "./fanout-clients.ts";

/** A phase ends when every typing event sent reached every socket; longer means events were lost. */
const DRAIN_TIMEOUT_MS = 15_000;
/** No delivery for this long while sending means the server stalled (or dropped the room). */
const STALL_MS = 5_000;

/**
 * Ephemeral fan-out at the maximum rate the server sustains. The rate is set by the servers themselves: at most
 * `windowPerSender × senders` typing events are in flight (sent but not yet delivered to every socket), so queues
 * stay bounded whoever is the bottleneck, and the load generator sends again as deliveries come in.
 *
 * Latency: every sampled receiver gets each sender's events in send order (one socket, one room, one server
 * loop), so its k-th event from sender s is sender s's k-th send — no timestamp has to travel in the frame,
 * which keeps the frames exactly the size of Parley's typing event.
 */
export async function runFanout(job: FanoutJob): Promise<FanoutPhase[]> {
  let delivered = 0;
  let errors = 0;
  let closes = 0;
  let sent = 0;
  let active = 0;
  let limit = 0;
  let nextSender = 0;
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let recorder = new LatencyRecorder();
  const maxSenders = Math.max(...job.senderCounts);
  /** sendTimes[s][k]: when sender s sent its k-th event of this phase. */
  let sendTimes: number[][] = [];
  const stride = Math.max(1, Math.floor(job.clients / Math.max(1, job.latencyReceivers)));
  /** Row of a sampled receiver in `received`, or -1. */
  const sampleRow = new Int32Array(job.clients).fill(-1);
  for (let receiver = 0, row = 0; receiver < job.clients && row < job.latencyReceivers; receiver += stride, row++) sampleRow[receiver] = row;
  /** received[row * maxSenders + s]: events from sender s the sampled receiver got this phase. */
  let received = new Int32Array(job.latencyReceivers * maxSenders);
  const senderIndex = new Map<string, number>();

  const room = await joinFanoutRoom(job.target, job, {
    onTyping(receiver: number, payload: TypingPayload) {
      delivered += 1;
      const row = sampleRow[receiver] as number;
      if (row >= 0) {
        const sender = senderIndex.get(senderKeyOf(payload));
        if (sender !== undefined) {
          const slot = row * maxSenders + sender;
          const k = received[slot] ?? 0;
          received[slot] = k + 1;
          const at = sendTimes[sender]?.[k];
          if (at !== undefined && at >= windowStart && at < windowEnd) recorder.record(performance.now() - at);
        }
      }
      pump();
    },
    onError(detail) {
      errors += 1;
      if (errors <= 3) progress(`server refused a frame: ${detail}`);
    },
    onClose() {
      closes += 1;
    },
  });
  room.senderKeys.forEach((key, index) => senderIndex.set(key, index));
  progress(`${job.clients} sockets in the room`);

  let phaseDelivered = 0;
  function pump(): void {
    // In flight, in whole events: sent minus what every socket has received.
    while (active > 0 && sent - (delivered - phaseDelivered) / job.clients < limit) {
      const sender = nextSender++ % active;
      (sendTimes[sender] as number[]).push(performance.now());
      sent += 1;
      room.sendTyping(sender);
    }
  }

  const phases: FanoutPhase[] = [];
  for (const senders of job.senderCounts) {
    const label = `${senders}`;
    sendTimes = Array.from({ length: senders }, () => []);
    received = new Int32Array(job.latencyReceivers * maxSenders);
    recorder = new LatencyRecorder();
    windowStart = windowEnd = Number.POSITIVE_INFINITY;
    sent = 0;
    phaseDelivered = delivered;
    nextSender = 0;
    active = senders;
    limit = job.windowPerSender * senders;
    const watchdog = startWatchdog(() => delivered);
    pump();
    await sleep(job.warmupMs);
    const start = { at: performance.now(), delivered, sent };
    windowStart = start.at;
    await checkpointReached(checkpoint.start(label));
    await sleep(job.measureMs);
    const end = { at: performance.now(), delivered, sent };
    windowEnd = end.at;
    await checkpointReached(checkpoint.end(label));
    active = 0;
    clearInterval(watchdog.timer);
    const expected = sent * job.clients;
    const drained = await waitUntil(() => delivered - phaseDelivered >= expected, DRAIN_TIMEOUT_MS);
    if (watchdog.stalled()) throw new Error(`fan-out stalled with ${senders} senders`);
    if (!drained) throw new Error(`lost typing events with ${senders} senders: ${expected - (delivered - phaseDelivered)} of ${expected} never arrived`);
    phases.push({
      senders,
      sent: end.sent - start.sent,
      delivered: end.delivered - start.delivered,
      windowMs: end.at - start.at,
      latency: recorder.summary(),
      errors: errors + closes,
    });
    progress(`${senders} sender(s): ${Math.round(((end.delivered - start.delivered) * 1000) / (end.at - start.at))} deliveries/s`);
  }
  room.close();
  return phases;
}

function startWatchdog(count: () => number): { timer: ReturnType<typeof setInterval>; stalled(): boolean } {
  let last = count();
  let lastChange = performance.now();
  let stalled = false;
  const timer = setInterval(() => {
    const now = count();
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > STALL_MS) {
      stalled = true;
    }
  }, 500);
  return { timer, stalled: () => stalled };
}
