import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RuntimeName, type ServerProcess, startServer } from "../support/server-process.ts";

const MB = 1024 * 1024;
const TYPED_413 = { error: { code: "PAYLOAD_TOO_LARGE", message: "body over 262144 bytes" } };

/** A body of `bytes` bytes sent as a stream, so fetch uses chunked transfer encoding (no Content-Length). */
function streamOf(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const size = Math.min(64 * 1024, bytes - sent);
      controller.enqueue(new Uint8Array(size).fill(97));
      sent += size;
    },
  });
}

async function post(url: string, body: Uint8Array | ReadableStream<Uint8Array>): Promise<{ status: number; connection: string | null; json: unknown }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
  const text = await response.text();
  return { status: response.status, connection: response.headers.get("connection"), json: text ? JSON.parse(text) : null };
}

/**
 * What a browser does with an upload: write the whole request, and only then read the answer. A server that
 * answered early and closed with the body unread makes this fail with EPIPE/ECONNRESET — the "network error".
 * Resolves with the status and JSON body once the whole response is in.
 */
function sendAllThenRead(port: number, path: string, bytes: number, framing: "length" | "chunked"): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    let written = false;
    socket.on("error", (error) => reject(new Error(`${error.message} (whole body written: ${written})`)));
    const head = [`POST ${path} HTTP/1.1`, "host: 127.0.0.1", "content-type: application/json"];
    head.push(framing === "length" ? `content-length: ${bytes}` : "transfer-encoding: chunked");
    socket.write(`${head.join("\r\n")}\r\n\r\n`);
    const block = Buffer.alloc(64 * 1024, 97);
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        const size = Math.min(block.length, bytes - sent);
        sent += size;
        const part = framing === "length" ? block.subarray(0, size) : Buffer.from(`${size.toString(16)}\r\n${"a".repeat(size)}\r\n`);
        if (!socket.write(part)) return void socket.once("drain", pump);
      }
      socket.write(framing === "chunked" ? "0\r\n\r\n" : "", () => {
        written = true;
        socket.on("data", (chunk: Buffer) => {
          received = Buffer.concat([received, chunk]);
          const text = received.toString("utf8");
          const end = text.indexOf("\r\n\r\n");
          const length = /\r\ncontent-length: (\d+)/i.exec(text)?.[1];
          if (end < 0 || length === undefined || received.length < end + 4 + Number(length)) return;
          socket.destroy();
          resolve({ status: Number(text.split(" ")[1]), json: JSON.parse(text.slice(end + 4, end + 4 + Number(length))) });
        });
      });
    };
    pump();
  });
}

/**
 * A 2 MB body to /trpc/messages.send used to be cut off mid-upload (Bun: its own empty 413 and a reset; Node: the
 * adapter drained for 500 ms and then destroyed the socket), so a browser saw a network error instead of the
 * documented 413. Now the app reads an oversize body to its end (up to HTTP_OVERSIZE_DRAIN_BYTES) and then answers
 * the typed 413 with `connection: close`, on every runtime.
 */
describe.each(["bun", "deno", "node"] satisfies RuntimeName[])("an oversize request body on %s (real process, real clients)", (runtime) => {
  let server: ServerProcess;
  let send: string;

  beforeAll(async () => {
    server = await startServer(runtime);
    send = `${server.url}/trpc/messages.send`;
  });
  afterAll(async () => {
    expect(await server?.stop(), server?.output()).toBe(0);
  });

  it("answers a declared 2 MB body with 413 and the typed error body, then closes", async () => {
    for (let trial = 0; trial < 3; trial++) {
      expect(await post(send, new Uint8Array(2 * MB).fill(97))).toEqual({ status: 413, connection: "close", json: TYPED_413 });
    }
  });

  it("answers a chunked 2 MB body (no Content-Length) with 413 and the typed error body", async () => {
    for (let trial = 0; trial < 3; trial++) {
      expect(await post(send, streamOf(2 * MB))).toEqual({ status: 413, connection: "close", json: TYPED_413 });
    }
  });

  it("gets the typed 413 to a client that writes the whole 2 MB before it reads, as a browser does", async () => {
    for (const framing of ["length", "chunked"] as const) {
      expect(await sendAllThenRead(server.port, "/trpc/messages.send", 2 * MB, framing), framing).toEqual({ status: 413, json: TYPED_413 });
    }
  });

  it("still takes bodies under the limit, chunked or not, and keeps serving", async () => {
    const small = new TextEncoder().encode(JSON.stringify({ roomId: crypto.randomUUID(), clientMsgId: "small-body-1", body: "hi" }));
    expect((await post(send, small)).status).toBe(401); // parsed and routed: this one simply has no token
    expect((await post(send, new Blob([small]).stream())).status).toBe(401);
    expect((await fetch(`${server.url}/livez`)).status).toBe(200);
  });
});

describe("past HTTP_OVERSIZE_DRAIN_BYTES (Node)", () => {
  it("stops reading and closes: the client gets the 413 or a cut connection, never anything else, and the server stays up", async () => {
    const server = await startServer("node", { HTTP_OVERSIZE_DRAIN_BYTES: String(512 * 1024) });
    try {
      for (const body of [new Uint8Array(4 * MB).fill(97), streamOf(4 * MB)]) {
        const outcome = await post(`${server.url}/trpc/messages.send`, body).catch((error: unknown) => ({ cut: String(error) }));
        if ("status" in outcome) expect(outcome).toEqual({ status: 413, connection: "close", json: TYPED_413 });
      }
      expect((await fetch(`${server.url}/livez`)).status).toBe(200);
      const refusals = server.logs.filter((line) => line.msg === "oversize request body refused");
      expect(refusals.map((line) => line.cut)).toEqual([true, true]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    // A Node server's start and 8 MiB posted through loopback: seconds alone, far more on a loaded two-core machine.
  }, 90_000);
});
