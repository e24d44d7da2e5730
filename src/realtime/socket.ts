/** What the realtime layer needs of one connected socket, whatever the runtime. */
export interface SocketHandle {
  readonly id: string;
  /** The runtime's native socket (Bun ServerWebSocket, ws WebSocket, Deno WebSocket): fan-out keys on it. */
  readonly raw: unknown;
  send(data: string): void;
  close(code: number, reason: string): void;
}

/** Local fan-out of one instance: Bun's native topics, or an in-memory registry on Deno and Node. */
export interface LocalFanout {
  subscribe(socket: SocketHandle, topic: string): void;
  unsubscribe(socket: SocketHandle, topic: string): void;
  /** Sends `data` to every local socket subscribed to `topic`. */
  publish(topic: string, data: string): void;
}
