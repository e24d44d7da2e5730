// The ceiling for Parley's fan-out: Bun.serve's WebSocket with ws.subscribe + server.publish and nothing else —
// no auth, no parsing, no validation. `GET /ws?room=<uuid>&id=<uuid>` subscribes the socket to `room:<uuid>`; every
// frame it sends publishes one event to the room with exactly the bytes of Parley's typing event for that user.
// Run by bench/run.ts as `bun bench/baselines/bare-bun-pubsub.ts` with PORT set; `/livez` answers when it listens.

interface SocketData {
  topic: string;
  /** The event this socket's frames publish, built once: `{"type":"typing","roomId":…,"userId":…,"active":true}`. */
  typing: string;
}

const UUID = /^[0-9a-f-]{36}$/;

const server = Bun.serve<SocketData>({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  fetch(request, server) {
    const url = new URL(request.url);
    if (url.pathname === "/livez") return new Response("ok");
    const room = url.searchParams.get("room") ?? "";
    const id = url.searchParams.get("id") ?? "";
    if (url.pathname !== "/ws" || !UUID.test(room) || !UUID.test(id)) return new Response("not found", { status: 404 });
    const typing = JSON.stringify({ type: "typing", roomId: room, userId: id, active: true });
    return server.upgrade(request, { data: { topic: `room:${room}`, typing } }) ? undefined : new Response("upgrade failed", { status: 400 });
  },
  websocket: {
    // The same socket settings as src/runtime/bun.ts, so only the application differs.
    perMessageDeflate: false,
    maxPayloadLength: 64 * 1024,
    idleTimeout: 60,
    sendPings: true,
    open(ws) {
      ws.subscribe(ws.data.topic);
    },
    message(ws) {
      // server.publish (not ws.publish) includes the sender, as Parley's fan-out does.
      server.publish(ws.data.topic, ws.data.typing);
    },
  },
});

process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});
