// Plain Socket.IO on Node doing what the bare Bun server does: a socket joins the room named in its handshake
// query, and every `typing` it emits is broadcast to the whole room (itself included) as Parley's typing event.
// Run by bench/run.ts as `node --import tsx bench/baselines/socketio-server.ts` with PORT set; `/livez` answers.
import { createServer } from "node:http";
import { Server } from "socket.io";

const http = createServer((request, response) => {
  // Socket.IO handles /socket.io/ itself and passes every other request here.
  response.writeHead(request.url === "/livez" ? 200 : 404).end(request.url === "/livez" ? "ok" : "not found");
});

const io = new Server(http, { transports: ["websocket"], serveClient: false, perMessageDeflate: false, maxHttpBufferSize: 64 * 1024 });

io.on("connection", (socket) => {
  const { room, id } = socket.handshake.query;
  if (typeof room !== "string" || typeof id !== "string") {
    socket.disconnect(true);
    return;
  }
  const topic = `room:${room}`;
  const typing = { type: "typing", roomId: room, userId: id, active: true };
  void socket.join(topic);
  socket.on("typing", () => {
    io.to(topic).emit("typing", typing);
  });
});

http.listen(Number(process.env.PORT ?? 0), "127.0.0.1");

process.on("SIGTERM", () => {
  void io.close();
  process.exit(0);
});
