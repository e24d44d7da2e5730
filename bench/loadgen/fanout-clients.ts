import { io, type Socket } from "socket.io-client";
import { mapConcurrently } from "../../src/lib/concurrency.ts";
import type { FanoutJob, FanoutTarget } from "../lib/jobs.ts";
import { createRooms, fetchTickets, registerUsers, socketUrl } from "./parley-api.ts";
import { isParleyReady, openSockets, type SocketSpec } from "./sockets.ts";

/** A typing event as a receiver got it: the raw frame (Parley, bare Bun) or Socket.IO's decoded argument. */
export type TypingPayload = string | { userId: string };

export interface FanoutHandlers {
  onTyping(receiver: number, payload: TypingPayload): void;
  /** The server refused a frame (Parley's `error` event): the run is not measuring what it claims. */
  onError(detail: string): void;
  onClose(code: number): void;
}

/** `clients` sockets in one room. Sockets 0…senders-1 can send; each has a distinct key, found in its events. */
export interface FanoutRoom {
  senderKeys: string[];
  sendTyping(sender: number): void;
  close(): void;
}

const TYPING_PREFIX = '{"type":"typing"';
const USER_ID_FIELD = '"userId":"';

/** The sender key (a user id) inside a typing event, without parsing the whole frame. */
export function senderKeyOf(payload: TypingPayload): string {
  if (typeof payload !== "string") return payload.userId;
  const at = payload.indexOf(USER_ID_FIELD) + USER_ID_FIELD.length;
  return payload.slice(at, at + 36);
}

export async function joinFanoutRoom(target: FanoutTarget, job: FanoutJob, handlers: FanoutHandlers): Promise<FanoutRoom> {
  const maxSenders = Math.max(...job.senderCounts);
  switch (target.kind) {
    case "parley":
      return joinParley(target.urls, job.clients, Math.max(job.users, maxSenders), maxSenders, handlers);
    case "bare":
      return joinBare(target.url, job.clients, maxSenders, handlers);
    case "socketio":
      return joinSocketIo(target.url, job.clients, maxSenders, handlers);
  }
}

/** Frames are dispatched by prefix: typing events are counted, errors reported, the rest (presence…) ignored. */
function rawHandler(receiver: number, handlers: FanoutHandlers): (data: string) => void {
  return (data) => {
    if (data.startsWith(TYPING_PREFIX)) handlers.onTyping(receiver, data);
    else if (data.startsWith('{"type":"error"')) handlers.onError(data.slice(0, 200));
  };
}

async function joinParley(urls: string[], clients: number, users: number, senders: number, handlers: FanoutHandlers): Promise<FanoutRoom> {
  const [primary] = urls as [string];
  const accounts = await registerUsers(primary, Math.min(users, clients));
  const [roomId] = (await createRooms(primary, 1, () => accounts[0]!, () => accounts)) as [string];
  const sockets = Array.from({ length: clients }, (_, index) => ({ url: urls[index % urls.length]!, user: accounts[index % accounts.length]! }));
  const tickets = await fetchTickets(sockets);
  const opened = await openSockets(
    sockets.map(({ url }, index): SocketSpec => ({
      url: socketUrl(url, tickets[index]!),
      isReady: isParleyReady,
      onMessage: rawHandler(index, handlers),
      onClose: handlers.onClose,
    })),
  );
  const frame = JSON.stringify({ type: "typing", roomId, active: true });
  return {
    senderKeys: accounts.slice(0, senders).map((account) => account.userId),
    sendTyping: (sender) => opened[sender]!.send(frame),
    close: () => opened.forEach((socket) => socket.close()),
  };
}

async function joinBare(url: string, clients: number, senders: number, handlers: FanoutHandlers): Promise<FanoutRoom> {
  const roomId = crypto.randomUUID();
  const ids = Array.from({ length: clients }, () => crypto.randomUUID());
  const opened = await openSockets(
    ids.map((id, index): SocketSpec => ({
      url: `${url.replace(/^http/, "ws")}/ws?room=${roomId}&id=${id}`,
      isReady: null,
      onMessage: rawHandler(index, handlers),
      onClose: handlers.onClose,
    })),
  );
  // The same frame Parley's clients send; the bare server does not even read it.
  const frame = JSON.stringify({ type: "typing", roomId, active: true });
  return {
    senderKeys: ids.slice(0, senders),
    sendTyping: (sender) => opened[sender]!.send(frame),
    close: () => opened.forEach((socket) => socket.close()),
  };
}

async function joinSocketIo(url: string, clients: number, senders: number, handlers: FanoutHandlers): Promise<FanoutRoom> {
  const roomId = crypto.randomUUID();
  const ids = Array.from({ length: clients }, () => crypto.randomUUID());
  const opened = await mapConcurrently(ids, 100, (id) => connectSocketIo(url, roomId, id));
  opened.forEach((socket, index) => {
    socket.on("typing", (event: { userId: string }) => handlers.onTyping(index, event));
    socket.on("disconnect", (reason) => {
      if (reason !== "io client disconnect") handlers.onClose(1006);
    });
  });
  const payload = { roomId, active: true };
  return {
    senderKeys: ids.slice(0, senders),
    sendTyping: (sender) => void opened[sender]!.emit("typing", payload),
    close: () => opened.forEach((socket) => socket.disconnect()),
  };
}

function connectSocketIo(url: string, room: string, id: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, query: { room, id }, timeout: 30_000 });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (error) => reject(new Error(`socket.io connect failed: ${error.message}`)));
  });
}
