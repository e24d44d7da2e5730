import { createTRPCClient, httpBatchLink, type TRPCClient } from "@trpc/client";
import type { AppRouter } from "../../src/contract.ts";
import { mapConcurrently } from "../../src/lib/concurrency.ts";

/** An account created through the public API, with a tRPC client per Parley instance. */
export interface BenchUser {
  userId: string;
  accessToken: string;
  /** Index of the user in creation order. */
  index: number;
}

/** Setup calls run this many at a time: enough to overlap round trips, few enough not to time out Argon2 queues. */
const SETUP_CONCURRENCY = 32;

const PASSWORD = "correct horse battery staple";
const runTag = Math.random().toString(36).slice(2, 8);

const clients = new Map<string, TRPCClient<AppRouter>>();

/** One tRPC client (httpBatchLink, no transformer — as the README documents) per (instance, token). */
export function api(url: string, accessToken?: string): TRPCClient<AppRouter> {
  const key = `${url} ${accessToken ?? ""}`;
  let client = clients.get(key);
  if (!client) {
    client = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${url}/trpc`, maxItems: 16, headers: () => (accessToken ? { authorization: `Bearer ${accessToken}` } : {}) })],
    });
    clients.set(key, client);
  }
  return client;
}

/** Registers `count` accounts concurrently through `auth.register` (each costs the server one Argon2id hash). */
export function registerUsers(url: string, count: number): Promise<BenchUser[]> {
  const indexes = Array.from({ length: count }, (_, index) => index);
  return mapConcurrently(indexes, SETUP_CONCURRENCY, async (index) => {
    const username = `b${runTag}_${index}`;
    const signedIn = await api(url).auth.register.mutate({
      email: `${username}@bench.parley.test`,
      username,
      password: PASSWORD,
      refreshTokenIn: "body",
    });
    return { userId: signedIn.user.id, accessToken: signedIn.accessToken, index };
  });
}

/** Public rooms: room `r` is created by `creatorOf(r)`; every other user in `membersOf(r)` joins it. */
export async function createRooms(
  url: string,
  count: number,
  creatorOf: (room: number) => BenchUser,
  membersOf: (room: number) => BenchUser[],
): Promise<string[]> {
  const indexes = Array.from({ length: count }, (_, index) => index);
  const roomIds = await mapConcurrently(indexes, SETUP_CONCURRENCY, async (room) => {
    const creator = creatorOf(room);
    const created = await api(url, creator.accessToken).rooms.create.mutate({ name: `bench ${runTag} ${room}`, kind: "public" });
    return created.id;
  });
  const joins = indexes.flatMap((room) =>
    membersOf(room)
      .filter((user) => user !== creatorOf(room))
      .map((user) => ({ user, roomId: roomIds[room] as string })),
  );
  await mapConcurrently(joins, SETUP_CONCURRENCY, ({ user, roomId }) => api(url, user.accessToken).rooms.join.mutate({ roomId }));
  return roomIds;
}

/** One single-use socket ticket per entry, from the instance the socket will connect to. */
export function fetchTickets(sockets: { url: string; user: BenchUser }[]): Promise<string[]> {
  return mapConcurrently(sockets, SETUP_CONCURRENCY, async ({ url, user }) => {
    const { ticket } = await api(url, user.accessToken).auth.wsTicket.mutate({});
    return ticket;
  });
}

export function socketUrl(url: string, ticket: string): string {
  return `${url.replace(/^http/, "ws")}/ws?ticket=${ticket}`;
}
