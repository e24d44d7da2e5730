import { checkpoint, type IdleJob, type IdleResult } from "../lib/jobs.ts";
import { checkpointReached, progress, sleep } from "./control.ts";
import { createRooms, fetchTickets, registerUsers, socketUrl } from "./parley-api.ts";
import { isParleyReady, openSockets, type SocketSpec } from "./sockets.ts";

/**
 * Idle sockets for a memory reading: everything the sockets need (accounts, rooms, tickets) exists before the
 * first reading, so the server's growth between the two readings is the sockets themselves.
 */
export async function runIdle(job: IdleJob): Promise<IdleResult> {
  // Sockets are spread over this many rooms (topics): each is subscribed to one, as a member of one room.
  const roomCount = job.layout.rooms;
  let dropped = 0;
  const onClose = (): void => void (dropped += 1);
  const onMessage = (): void => {};
  let specs: SocketSpec[];
  const target = job.target;
  if (target.kind === "parley") {
    const url = target.urls[0] as string;
    const users = await registerUsers(url, Math.min(job.users, job.sockets));
    const rooms = Math.min(roomCount, users.length);
    await createRooms(url, rooms, (room) => users[room]!, (room) => users.filter((user) => user.index % rooms === room));
    const placement = Array.from({ length: job.sockets }, (_, index) => ({ url, user: users[index % users.length]! }));
    const tickets = await fetchTickets(placement);
    specs = tickets.map((ticket) => ({ url: socketUrl(url, ticket), isReady: isParleyReady, onMessage, onClose }));
  } else {
    const rooms = Array.from({ length: roomCount }, () => crypto.randomUUID());
    const base = target.url.replace(/^http/, "ws");
    specs = Array.from({ length: job.sockets }, (_, index) => ({
      url: `${base}/ws?room=${rooms[index % roomCount]}&id=${crypto.randomUUID()}`,
      isReady: null,
      onMessage,
      onClose,
    }));
  }
  // Setup (registrations, tickets) leaves garbage behind: give the server the same settling time before the first
  // reading as before the second, so neither counts a collection the other missed.
  await sleep(job.settleMs);
  await checkpointReached(checkpoint.idleBefore);
  const sockets = await openSockets(specs);
  progress(`${sockets.length} sockets open`);
  await sleep(job.settleMs);
  await checkpointReached(checkpoint.idleHeld);
  sockets.forEach((socket) => socket.close());
  return { sockets: sockets.length, dropped };
}
