import { checkpoint, type ThroughputJob, type ThroughputPhase, type ThroughputResult } from "../lib/jobs.ts";
import { LatencyRecorder } from "../lib/stats.ts";
import { checkpointReached, progress, sleep, waitUntil } from "./control.ts";
import { ACK, ERROR, MESSAGE_CREATED, ackIndexOf, benchBody, clientMsgId, readyPosition, roomIdOf, seqOf } from "./message-frames.ts";
import { type BenchUser, createRooms, fetchTickets, registerUsers, socketUrl } from "./parley-api.ts";
import { type BenchSocket, isParleyReady, openSockets } from "./sockets.ts";

const DRAIN_TIMEOUT_MS = 30_000;

/**
 * Persisted send throughput: `senders` sockets (one user each), each keeping `window` sends in flight and sending
 * the next as soon as one is acknowledged, each send to a random one of its rooms. Room r has the senders s with
 * s ≡ r (mod rooms / roomsPerSender) as members, so every room has the same number of members (and of receivers).
 */
export async function runThroughput(job: ThroughputJob): Promise<ThroughputResult> {
  const url = job.target.urls[0] as string;
  const modulus = job.rooms / job.roomsPerSender;
  if (!Number.isInteger(modulus) || modulus > job.senders) throw new Error("rooms / roomsPerSender must be a whole number ≤ senders");
  const users = await registerUsers(url, job.senders);
  const membersOf = (room: number): BenchUser[] => users.filter((user) => user.index % modulus === room % modulus);
  const roomIds = await createRooms(url, job.rooms, (room) => users[room % modulus]!, membersOf);
  const roomsOf = users.map((user) => roomIds.filter((_, room) => room % modulus === user.index % modulus));
  const tickets = await fetchTickets(users.map((user) => ({ url, user })));

  const sendTimes: number[] = [];
  const inFlight = new Int32Array(job.senders);
  const ackedPerRoom = new Map<string, number>(roomIds.map((roomId) => [roomId, 0]));
  /** Per socket, per room: the next seq it should receive (from the room's position at `ready`: joins took seqs). */
  const expected = roomsOf.map((rooms) => new Map(rooms.map((roomId) => [roomId, 1])));
  /** Per room, its position before the first send: the senders' joins. */
  const startOf = new Map<string, number>();
  let ack = new LatencyRecorder();
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let acked = 0;
  let errors = 0;
  let lost = 0;
  let duplicates = 0;
  let window = 0;
  let sockets: BenchSocket[] = [];

  function send(sender: number): void {
    const rooms = roomsOf[sender] as string[];
    const roomId = rooms[Math.floor(Math.random() * rooms.length)] as string;
    const index = sendTimes.length;
    sendTimes.push(performance.now());
    inFlight[sender] = (inFlight[sender] as number) + 1;
    sockets[sender]?.send(JSON.stringify({ type: "send", roomId, clientMsgId: clientMsgId(index), body: benchBody(index) }));
  }

  function settled(sender: number): void {
    inFlight[sender] = (inFlight[sender] as number) - 1;
    while ((inFlight[sender] as number) < window) send(sender);
  }

  const onMessage = (sender: number) => (data: string): void => {
    if (data.startsWith(MESSAGE_CREATED)) {
      const rooms = expected[sender] as Map<string, number>;
      const roomId = roomIdOf(data);
      const seq = seqOf(data);
      const next = rooms.get(roomId) ?? 1;
      if (seq < next) duplicates += 1;
      else if (seq > next) lost += seq - next;
      if (seq >= next) rooms.set(roomId, seq + 1);
    } else if (data.startsWith(ACK)) {
      const now = performance.now();
      const sentAt = sendTimes[ackIndexOf(data)] ?? Number.NaN;
      if (now >= windowStart && now < windowEnd) acked += 1;
      if (sentAt >= windowStart && sentAt < windowEnd) ack.record(now - sentAt);
      const roomId = roomIdOf(data.slice(data.indexOf('"message":')));
      ackedPerRoom.set(roomId, (ackedPerRoom.get(roomId) ?? 0) + 1);
      settled(sender);
    } else if (data.startsWith(ERROR)) {
      errors += 1;
      if (errors <= 3) progress(`server refused a frame: ${data.slice(0, 200)}`);
      if (data.includes('"clientMsgId"')) settled(sender);
    }
  };
  let closes = 0;
  sockets = await openSockets(
    users.map((user, sender) => ({
      url: socketUrl(url, tickets[user.index]!),
      isReady: isParleyReady,
      onMessage: onMessage(sender),
      onClose: () => (closes += 1),
    })),
  );
  sockets.forEach((socket, sender) => {
    for (const roomId of roomsOf[sender] as string[]) {
      const position = readyPosition(socket.ready, roomId);
      (expected[sender] as Map<string, number>).set(roomId, position + 1);
      startOf.set(roomId, Math.max(startOf.get(roomId) ?? 0, position));
    }
  });
  progress(`${job.senders} senders over ${job.rooms} room(s)`);

  const phases: ThroughputPhase[] = [];
  for (const phaseWindow of job.windows) {
    const label = `w${phaseWindow}`;
    ack = new LatencyRecorder();
    acked = 0;
    window = phaseWindow;
    const errorsAtStart = errors;
    for (let sender = 0; sender < job.senders; sender++) while ((inFlight[sender] as number) < window) send(sender);
    await sleep(job.warmupMs);
    windowEnd = Number.POSITIVE_INFINITY; // the previous phase's end must not close this window before it opens
    windowStart = performance.now();
    await checkpointReached(checkpoint.start(label));
    await sleep(job.measureMs);
    windowEnd = performance.now();
    await checkpointReached(checkpoint.end(label));
    window = 0; // stop refilling; what is in flight completes
    if (!(await waitUntil(() => inFlight.every((count) => count <= 0), DRAIN_TIMEOUT_MS))) {
      throw new Error(`sends never acknowledged (window ${phaseWindow}): ${inFlight.reduce((a, b) => a + b, 0)}`);
    }
    phases.push({ window: phaseWindow, acked, windowMs: windowEnd - windowStart, ack: ack.summary(), errors: errors - errorsAtStart + closes });
    progress(`window ${phaseWindow}: ${Math.round((acked * 1000) / (windowEnd - windowStart))} sends/s`);
  }

  // Every member socket must have every committed message of each of its rooms (seq is gapless after the joins:
  // final = the position at ready + acked).
  const finalOf = (roomId: string): number => (startOf.get(roomId) ?? 0) + (ackedPerRoom.get(roomId) ?? 0);
  const missing = (): number =>
    expected.reduce((sum, rooms) => sum + [...rooms].reduce((deficit, [roomId, next]) => deficit + Math.max(0, finalOf(roomId) - (next - 1)), 0), 0);
  await waitUntil(() => missing() === 0, DRAIN_TIMEOUT_MS);
  lost += missing();
  sockets.forEach((socket) => socket.close());
  return { phases, lost, duplicates };
}
