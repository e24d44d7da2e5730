import { createConnection, createServer, type Socket } from "node:net";

/**
 * A small TCP load balancer in front of server instances, like Fly's proxy: each new client connection goes to
 * the next backend in turn; a backend that refuses a connection is skipped (and benched for a moment), so after
 * an instance dies its clients' reconnects land on the survivors. Bytes are piped untouched; when either side
 * of a pair closes, the other is closed too. With one backend it is a proxy that can partition its clients from
 * it (e.g. one instance from Redis).
 */
export interface TcpBalancer {
  /** `http://127.0.0.1:<port>`: what clients are given instead of an instance's URL. */
  readonly url: string;
  /** Open WebSocket connections (upgrade requests for /ws) per backend port. */
  websockets(): Map<number, number>;
  /** A network partition: resets every open connection and every new one until `restore`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

const BENCH_MS = 1000;

export async function startTcpBalancer(backendPorts: number[]): Promise<TcpBalancer> {
  const benchedUntil = new Map<number, number>();
  const websockets = new Map<number, number>();
  const pairs = new Set<Socket>();
  /** Round-robin positions, one for sockets and one for calls, so sockets alternate however calls reuse connections. */
  const next = { websocket: 0, other: 0 };
  let partitioned = false;

  /** Backends in round-robin order starting at the next one, benched ones last (they may be back). */
  function candidates(kind: keyof typeof next): number[] {
    const start = next[kind]++ % backendPorts.length;
    const ordered = [...backendPorts.slice(start), ...backendPorts.slice(0, start)];
    const now = Date.now();
    return [...ordered.filter((port) => (benchedUntil.get(port) ?? 0) <= now), ...ordered.filter((port) => (benchedUntil.get(port) ?? 0) > now)];
  }

  function connectFirst(ports: number[], onConnected: (upstream: Socket, port: number) => void, onNone: () => void): void {
    const [port, ...rest] = ports;
    if (port === undefined) return onNone();
    const upstream = createConnection({ host: "127.0.0.1", port });
    upstream.once("connect", () => {
      upstream.removeAllListeners("error");
      onConnected(upstream, port);
    });
    upstream.once("error", () => {
      benchedUntil.set(port, Date.now() + BENCH_MS);
      upstream.destroy();
      connectFirst(rest, onConnected, onNone);
    });
  }

  const server = createServer((client) => {
    if (partitioned) return void client.resetAndDestroy();
    pairs.add(client);
    client.pause();
    client.once("close", () => pairs.delete(client));
    client.on("error", () => client.destroy());
    // The backend is picked once the client has spoken (HTTP, Redis and Postgres clients all speak first): the
    // first bytes tell a WebSocket upgrade from a call, for the socket count and the sockets' own rotation.
    client.once("data", (head: Buffer) => {
      client.pause();
      const isWebSocket = head.subarray(0, 8).toString("latin1") === "GET /ws?";
      connectFirst(
        candidates(isWebSocket ? "websocket" : "other"),
        (upstream, port) => {
          if (client.destroyed) return upstream.destroy();
          pairs.add(upstream);
          if (isWebSocket) websockets.set(port, (websockets.get(port) ?? 0) + 1);
          let open = true;
          const closeBoth = (): void => {
            if (!open) return;
            open = false;
            pairs.delete(upstream);
            if (isWebSocket) websockets.set(port, (websockets.get(port) ?? 1) - 1);
            client.destroy();
            upstream.destroy();
          };
          upstream.on("error", closeBoth);
          upstream.on("close", closeBoth);
          client.on("close", closeBoth);
          upstream.write(head);
          client.pipe(upstream);
          upstream.pipe(client);
          client.resume();
        },
        () => client.destroy(),
      );
    });
    client.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    websockets: () => new Map(websockets),
    cut() {
      partitioned = true;
      for (const socket of pairs) socket.resetAndDestroy();
    },
    restore() {
      partitioned = false;
    },
    close: async () => {
      for (const socket of pairs) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
