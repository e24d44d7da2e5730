/** What the realtime layer needs of one connected socket, whatever the runtime. */
export interface SocketHandle {
  readonly id: string;
  /** The runtime's native socket (Bun ServerWebSocket, ws WebSocket, Deno WebSocket): fan-out keys on it. */
  readonly raw: unknown;
  /** One frame for this socket alone (counted as a direct delivery). */
  send(data: string): void;
  /** A frame of a topic the socket is subscribed to: the fan-out that calls this counts it, per topic. */
  sendPublished(data: string): void;
  close(code: number, reason: string): void;
  /** Bytes queued for this socket and not yet written to the network. */
  bufferedAmount(): number;
  /** True once the server closed (or began closing) the socket: nothing more is sent to it. */
  readonly closing: boolean;
}

/** Local fan-out of one instance: Bun's native topics, or an in-memory registry on Deno and Node. */
export interface LocalFanout {
  subscribe(socket: SocketHandle, topic: string): void;
  unsubscribe(socket: SocketHandle, topic: string): void;
  /** Sends `data` to every local socket subscribed to `topic`; answers how many that was. */
  publish(topic: string, data: string): number;
}

/** "dropped": the runtime refused the frame because the socket's send buffer is full; "closed": the socket is gone. */
export type SendResult = "sent" | "dropped" | "closed";

/** How the runtime writes to one of its native sockets and reports what is still waiting to go out. */
export interface SocketIo {
  /** Writes a text frame. */
  send(raw: unknown, data: string): SendResult;
  /** Bytes queued on the socket and not yet written to the network. */
  bufferedAmount(raw: unknown): number;
  close(raw: unknown, code: number, reason: string): void;
}
