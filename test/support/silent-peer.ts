import { createConnection } from "node:net";

/**
 * A WebSocket client that completes the handshake and then plays dead: it never reads a frame, so it never
 * answers the server's pings — a peer whose network went away without a FIN. Resolves with the milliseconds
 * from the upgrade until the server closed the connection.
 */
export function openSilentPeer(url: string): Promise<{ closedAfterMs: Promise<number> }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: target.hostname, port: Number(target.port) });
    let upgradedAt = 0;
    let head = "";
    const closed = new Promise<number>((done) => socket.once("close", () => done(Date.now() - upgradedAt)));
    socket.once("error", reject);
    socket.once("connect", () => socket.write(upgradeRequest(target)));
    const onHead = (chunk: Buffer): void => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.off("data", onHead);
      if (!head.startsWith("HTTP/1.1 101")) return reject(new Error(`upgrade refused: ${head.split("\r\n")[0]}`));
      upgradedAt = Date.now();
      socket.on("data", () => {}); // frames (pings, events) arrive and are ignored: nothing is ever answered
      resolve({ closedAfterMs: closed });
    };
    socket.on("data", onHead);
  });
}

/**
 * An upgrade the app lets through (valid ticket, allowed origin) but the runtime cannot complete: the request has
 * no Sec-WebSocket-Key, so no socket ever opens — and no runtime reports that to the app. Resolves with the
 * status line the server answered (or "" if it answered nothing before closing).
 */
export function sendKeylessUpgrade(url: string): Promise<string> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: target.hostname, port: Number(target.port) });
    let answer = "";
    socket.once("error", reject);
    socket.once("connect", () => socket.write(upgradeRequest(target).replace(/Sec-WebSocket-Key: .*\r\n/, "")));
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString("latin1");
      if (answer.includes("\r\n")) socket.destroy();
    });
    socket.setTimeout(2000, () => socket.destroy()); // a server that neither answers nor closes
    socket.once("close", () => resolve(answer.split("\r\n")[0] ?? ""));
  });
}

function upgradeRequest(target: URL): string {
  const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
  return (
    `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}
