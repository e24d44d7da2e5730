import {
  createParleyClient,
  type LoggedRoomEvent,
  type LoggedRoomEventType,
  type Message,
  type ParleyClient,
  type RealtimeState,
  type UserProfile,
} from "../../client-sdk/src/index.ts";
import { LOGGED_EVENT_TYPES } from "../../client-sdk/src/realtime/room-streams.ts";
import { type ClientNetwork, createClientNetwork } from "./client-network.ts";
import { uniqueUsername } from "./factories.ts";

/**
 * A room event as one client came to hold it (a message, a join, …): pushed live, or paged after the server said it
 * could not replay it. `messageId` and `body` for events about a message (the body as the event carried it).
 */
export interface HeldEvent {
  seq: number;
  type: LoggedRoomEventType;
  messageId: string | null;
  body: string | null;
  at: number;
}

function held(event: LoggedRoomEvent): HeldEvent {
  const message = "message" in event ? event.message : null;
  const messageId = "messageId" in event ? event.messageId : (message?.id ?? null);
  return { seq: event.seq, type: event.type, messageId, body: message?.body ?? null, at: Date.now() };
}

/** What one SDK client saw of one room. */
export interface RoomRecord {
  /** The room's position when the client first attached it (from `ready` or `room.membership`): it expects what follows. */
  baseline: number | null;
  /** Logged room events as the SDK delivered them, in order. */
  live: HeldEvent[];
  /** `resumed { recovered: false, missed }` ranges: the server's explicit word that these must be paged. */
  unrecovered: { fromSeq: number; toSeq: number; at: number }[];
  /** What the client paged through `rooms.events` for those ranges. */
  paged: HeldEvent[];
  /** `resumed { recovered: true }` answers. */
  recovered: number;
}

export interface AckRecord {
  roomId: string;
  body: string;
  issuedAt: number;
  ackedAt: number;
  message: Message;
}

/** One period without a connection: from leaving `open` until `open` again (null while still down). */
export interface Outage {
  downAt: number;
  upAt: number | null;
  reason: string | null;
}

/** A real SDK client (the `ws` WebSocket through a tappable network) with everything it did and saw recorded. */
export interface FleetClient {
  readonly name: string;
  readonly user: UserProfile;
  readonly client: ParleyClient;
  readonly network: ClientNetwork;
  /** Rooms this client is a member of (joined through the harness). */
  readonly rooms: Set<string>;
  record(roomId: string): RoomRecord;
  acks: AckRecord[];
  /** Sends issued and not yet acknowledged, by body. */
  pending: Map<string, { roomId: string; issuedAt: number }>;
  /** `error` events the server sent for this client's sends (the SDK retries the retryable ones). */
  sendErrors: { clientMsgId: string; code: string; at: number }[];
  /** Sends the SDK gave up on (SendRejectedError): each is a failure of the scenario. */
  rejected: { roomId: string; body: string; error: string }[];
  outages: Outage[];
  /** Errors the SDK reported through `onError` (failed reconnects, fill errors): for failure output. */
  sdkErrors: { at: number; error: string }[];
  /** Sends through `realtime.send` (the outbox: retried with the same clientMsgId until acknowledged). */
  send(roomId: string, body: string): Promise<Message | null>;
  /** Sends once through the `messages.send` mutation over HTTP, with a fresh clientMsgId. */
  post(roomId: string, body: string): Promise<Message | null>;
  join(roomId: string): Promise<void>;
  /** Connects and resolves once `ready` arrived. */
  connect(timeoutMs?: number): Promise<void>;
  /** Paging of `recovered: false` ranges still running. */
  paging(): Promise<void>;
  /** The highest seq the client holds for the room, counting ranges it was told to page once they are paged. */
  heldThrough(roomId: string): number;
  readonly state: RealtimeState;
  /** Why the connection last changed state (e.g. "unauthenticated" when it closed for good). */
  readonly stateReason: string | null;
  close(): void;
}

export interface FleetClientOptions {
  /** The base URL calls and sockets go to: a balancer or one instance. */
  url: string;
  name: string;
  /** Full-jitter reconnect window; short, so a fault scenario measures the server, not the backoff. */
  reconnect?: { minDelayMs: number; maxDelayMs: number };
  /** Signs in as an existing user (a second device) instead of registering a new one. */
  loginAs?: { user: UserProfile; password: string };
}

export const FLEET_PASSWORD = "correct horse battery staple";
const PAGE = 100;

export async function createFleetClient(options: FleetClientOptions): Promise<FleetClient> {
  const network = createClientNetwork();
  const sdkErrors: FleetClient["sdkErrors"] = [];
  const client = createParleyClient({
    url: options.url,
    WebSocket: network.WebSocket,
    fetch: network.fetch,
    reconnect: options.reconnect ?? { minDelayMs: 250, maxDelayMs: 2000 },
    // The default 25 s ping would leave a half-open link undetected longer than these scenarios last; 5 s (dead
    // after 10 s of silence) stays clear of event-loop stalls on a busy CI machine.
    pingIntervalMs: 5000,
    onError: (error) => sdkErrors.push({ at: Date.now(), error: error instanceof Error ? error.message : String(error) }),
  });
  let user: UserProfile;
  if (options.loginAs) {
    user = await client.login({ login: options.loginAs.user.username, password: options.loginAs.password });
  } else {
    const username = uniqueUsername(options.name);
    user = await client.register({ email: `${username}@example.test`, username, password: FLEET_PASSWORD });
  }

  const records = new Map<string, RoomRecord>();
  const record = (roomId: string): RoomRecord => {
    let found = records.get(roomId);
    if (!found) records.set(roomId, (found = { baseline: null, live: [], unrecovered: [], paged: [], recovered: 0 }));
    return found;
  };
  const acks: AckRecord[] = [];
  const pending = new Map<string, { roomId: string; issuedAt: number }>();
  const rejected: FleetClient["rejected"] = [];
  const outages: Outage[] = [];
  const pagings = new Set<Promise<void>>();
  const rooms = new Set<string>();

  const { realtime } = client;
  realtime.on("ready", (event) => {
    for (const room of event.rooms) {
      const roomRecord = record(room.roomId);
      roomRecord.baseline ??= room.lastSeq;
    }
  });
  realtime.on("room.membership", (event) => {
    if (event.membership === "joined" && event.room) record(event.roomId).baseline ??= event.room.lastSeq;
  });
  // Every logged event type (the SDK's exhaustive record): the fleet records them all.
  for (const type of Object.keys(LOGGED_EVENT_TYPES) as LoggedRoomEventType[]) {
    realtime.on(type, (event) => void record(event.roomId).live.push(held(event)));
  }
  realtime.on("resumed", (event) => {
    const roomRecord = record(event.roomId);
    if (event.recovered) {
      roomRecord.recovered += 1;
      return;
    }
    if (!event.missed) return;
    const missed = { ...event.missed, at: Date.now() };
    roomRecord.unrecovered.push(missed);
    // What an app does with the explicit signal: page the named range through history.
    const paging = pageRange(event.roomId, missed.fromSeq, missed.toSeq)
      .catch((error: unknown) => void sdkErrors.push({ at: Date.now(), error: `paging ${missed.fromSeq}..${missed.toSeq}: ${String(error)}` }))
      .finally(() => pagings.delete(paging));
    pagings.add(paging);
  });
  const sendErrors: FleetClient["sendErrors"] = [];
  realtime.on("error", (event) => {
    if (event.clientMsgId) sendErrors.push({ clientMsgId: event.clientMsgId, code: event.code, at: Date.now() });
  });
  let stateReason: string | null = null;
  realtime.on("state", ({ state, previous, reason }) => {
    const now = Date.now();
    stateReason = reason;
    if (previous === "open" && state !== "open") outages.push({ downAt: now, upAt: null, reason });
    const last = outages.at(-1);
    if (state === "open" && last && last.upAt === null) last.upAt = now;
  });

  async function track(roomId: string, body: string, sending: () => Promise<Message>): Promise<Message | null> {
    const issuedAt = Date.now();
    pending.set(body, { roomId, issuedAt });
    try {
      const message = await sending();
      acks.push({ roomId, body, issuedAt, ackedAt: Date.now(), message });
      return message;
    } catch (error) {
      rejected.push({ roomId, body, error: error instanceof Error ? error.message : String(error) });
      return null;
    } finally {
      pending.delete(body);
    }
  }

  async function pageRange(roomId: string, fromSeq: number, toSeq: number): Promise<void> {
    const roomRecord = record(roomId);
    let after = fromSeq - 1;
    while (after < toSeq) {
      const page = await client.api.rooms.events.query({ roomId, after, limit: Math.min(PAGE, toSeq - after) });
      if (page.events.length === 0) break;
      for (const event of page.events) {
        if (event.seq > toSeq) break;
        roomRecord.paged.push(held(event));
        after = event.seq;
      }
      if (!page.hasMore) break;
    }
  }

  return {
    name: options.name,
    user,
    client,
    network,
    rooms,
    record,
    acks,
    pending,
    sendErrors,
    rejected,
    outages,
    sdkErrors,
    get state() {
      return realtime.state;
    },
    get stateReason() {
      return stateReason;
    },
    send: (roomId, body) => track(roomId, body, () => realtime.send(roomId, body)),
    post: (roomId, body) =>
      track(roomId, body, () => client.api.messages.send.mutate({ roomId, clientMsgId: crypto.randomUUID().replaceAll("-", ""), body })),
    async join(roomId) {
      await client.api.rooms.join.mutate({ roomId });
      rooms.add(roomId);
    },
    async connect(timeoutMs = 20_000) {
      realtime.connect();
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          realtime.whenOpen(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${options.name} did not get ready within ${timeoutMs} ms: ${JSON.stringify(sdkErrors.slice(-3))}`)), timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    paging: async () => {
      while (pagings.size > 0) await Promise.allSettled([...pagings]);
    },
    heldThrough(roomId) {
      const roomRecord = record(roomId);
      let through = roomRecord.baseline ?? 0;
      const seqs = new Set([...roomRecord.live, ...roomRecord.paged].map((event) => event.seq));
      while (seqs.has(through + 1)) through += 1;
      return through;
    },
    close() {
      realtime.disconnect();
    },
  };
}

/** Creates clients a few at a time (registration hashes a password: a burst would only queue on the server). */
export async function createFleet(count: number, options: Omit<FleetClientOptions, "name"> & { name: string }): Promise<FleetClient[]> {
  const clients: FleetClient[] = [];
  for (let start = 0; start < count; start += 4) {
    const batch = Array.from({ length: Math.min(4, count - start) }, (_, i) => createFleetClient({ ...options, name: `${options.name}${start + i + 1}` }));
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

/**
 * Steady traffic: each client sends to each of its rooms every `intervalMs` (jittered), keeping at most
 * `maxInFlight` of its own sends unacknowledged — a user does not type faster than the app confirms. `stop()`
 * ends the issuing (sends already issued keep retrying until acknowledged).
 */
export function startTraffic(
  clients: FleetClient[],
  options: {
    intervalMs: number;
    maxInFlight?: number;
    tag: string;
    /**
     * The chance, per tick, that a client also changes one of its acknowledged messages (react, unreact or edit),
     * over HTTP: room events that are not messages, in the same rooms. A change whose call failed (its
     * instance died) may or may not have committed; the verifier checks streams against the log either way.
     */
    changes?: number;
  },
): { stop(): void; issued(): number; changes(): { tried: number; ok: number } } {
  const maxInFlight = options.maxInFlight ?? 3;
  const changes = { tried: 0, ok: 0 };
  let issued = 0;
  let running = true;
  const timers = new Map<FleetClient, ReturnType<typeof setTimeout>>();
  for (const client of clients) {
    let counter = 0;
    const tick = (): void => {
      if (!running) return;
      for (const roomId of client.rooms) {
        if (client.pending.size >= maxInFlight) break;
        counter += 1;
        issued += 1;
        void client.send(roomId, `${options.tag}:${client.name}:${counter}`);
      }
      if (options.changes && Math.random() < options.changes) {
        const target = client.acks[Math.floor(Math.random() * client.acks.length)]?.message;
        if (target) {
          changes.tried += 1;
          void changeMessage(client, target, counter).then(
            () => (changes.ok += 1),
            () => {},
          );
        }
      }
      timers.set(client, setTimeout(tick, options.intervalMs * (0.5 + Math.random())));
    };
    timers.set(client, setTimeout(tick, Math.random() * options.intervalMs));
  }
  return {
    stop() {
      running = false;
      for (const timer of timers.values()) clearTimeout(timer);
    },
    issued: () => issued,
    changes: () => ({ ...changes }),
  };
}

const EMOJI = ["👍", "🎉", "🔥", "❤️"];

/** One change to one of the client's messages: a reaction, the removal of one, or an edit. */
async function changeMessage(client: FleetClient, message: Message, counter: number): Promise<void> {
  const api = client.client.api.messages;
  const emoji = EMOJI[counter % EMOJI.length] as string;
  switch (counter % 4) {
    case 0:
      await api.react.mutate({ messageId: message.id, emoji });
      return;
    case 1:
      await api.unreact.mutate({ messageId: message.id, emoji: EMOJI[(counter - 1) % EMOJI.length] as string });
      return;
    case 2:
      await api.edit.mutate({ messageId: message.id, body: `${message.body} (edited ${counter})` });
      return;
    default:
      await api.react.mutate({ messageId: message.id, emoji: "👀" });
  }
}
