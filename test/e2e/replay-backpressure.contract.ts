import { afterAll, describe, expect, it } from "vitest";
import type { ResumePositions, Room } from "../../src/contract.ts";
import { type Chatter, eventually, openChatterSocket, positionIn, publicRoom, registerChatter } from "../support/chatters.ts";
import { residentBytes, type RuntimeName, type ServerProcess, startServer } from "../support/server-process.ts";
import { openTestSocket, type TestSocket } from "../support/socket-client.ts";

const READERS = 50;
/** Ten sockets per account: the per-user socket cap (16 by default) is not what stops them here. */
const ACCOUNTS = 5;
const MESSAGES = 600;
/** 4000 characters of 4 bytes: the largest body the server accepts (16,000 bytes of UTF-8). */
const BODY = "😀".repeat(4000);
/** WS_MAX_BUFFERED_BYTES at its documented default. */
const LIMIT = 1024 * 1024;
/** One message.created frame for BODY: the body plus its JSON envelope (ids, sender, timestamps). */
const FRAME = 16_000 + 1024;
/** Short, so the paused readers are given up on quickly; the default is 10 s. */
const STALL_TIMEOUT_MS = 2000;
/**
 * Growth the server may show besides the 50 send buffers: the room's frames, encoded once (≈ 10 MB), per-socket
 * state and the history pages in flight, and what the allocator and collector have not handed back yet. Measured
 * peak growth with the bounds in place: 69–92 MiB on Bun (the latter beside another server under test), 9–96 on
 * Node, 17 on Deno; without them (one replay dumping the whole room) 702 MiB on Bun, 336–356 on Deno, 278 on Node.
 */
const SLACK = 96 * 1024 * 1024;


/** A paused socket: its TCP stream is not read, so the kernel buffers fill and then the server's. */
interface PausedReader {
  who: Chatter;
  socket: TestSocket;
  resumeReading(): void;
}

/**
 * Fifty readers that stop reading, each asking to replay a large room from the start, must cost the server at
 * most the send-buffer limit (plus one frame) each — the replay waits for their buffers to drain and gives up on
 * a reader that makes no progress — and each must be closed with 4002, see that close once it reads again, and
 * resume without a gap. Run per runtime (replay-backpressure.<runtime>.test.ts).
 */
export function replayBackpressureSuite(runtime: RuntimeName): void {
  describe(`replay under backpressure on ${runtime}`, () => {
    let server: ServerProcess | null = null;
    const sockets: TestSocket[] = [];

    afterAll(async () => {
      for (const socket of sockets) socket.terminate();
      const code = await server?.stop();
      expect(code, server?.output()).toBe(0);
    });

    it("holds at most the buffer limit plus one frame per paused reader replaying a large room, closes each with 4002, and each resumes with nothing missed", async () => {
      const own = await startServer(runtime, { WS_STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS) });
      server = own;
      const alice = await registerChatter(own.url, "alice");
      const accounts = await Promise.all(Array.from({ length: ACCOUNTS }, (_, i) => registerChatter(own.url, `reader${i}`)));
      const room = await publicRoom(alice, ...accounts);
      // Ten at a time: the SDK batches concurrent calls into one request, and requests are capped at 256 KiB.
      for (let sent = 0; sent < MESSAGES; sent += 10) {
        await Promise.all(
          Array.from({ length: Math.min(10, MESSAGES - sent) }, (_, i) =>
            alice.client.api.messages.send.mutate({ roomId: room.id, clientMsgId: `large-message-${sent + i}`, body: BODY }),
          ),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const baseline = residentBytes(own.pid);
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, residentBytes(own.pid))), 25);

      // Half resume through their ticket (replayed before `ready`), half with a `resume` frame once ready.
      const readers = await Promise.all(
        Array.from({ length: READERS }, (_, i) => openPausedReader(own, accounts[i % ACCOUNTS] as Chatter, room, i % 2 === 0)),
      );
      for (const reader of readers) sockets.push(reader.socket);
      const slowCloses = (): number => own.logs.filter((line) => line.msg === "closing a slow consumer").length;
      await eventually(() => slowCloses() >= READERS, () => `${slowCloses()} of ${READERS} readers closed`, 60_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      clearInterval(sampler);
      const growth = peak - baseline;
      const bound = READERS * (LIMIT + FRAME) + SLACK;
      expect(growth, `server RSS grew ${mib(growth)} MiB (bound ${mib(bound)} MiB)`).toBeLessThanOrEqual(bound);
      const causes = own.logs.filter((line) => line.msg === "closing a slow consumer").map((line) => line.cause);
      expect(causes).toEqual(readers.map(() => "replay_stalled"));

      for (const reader of readers) reader.resumeReading();
      const closes = await Promise.all(readers.map((reader) => reader.socket.closed));
      expect(closes.map((close) => close.code)).toEqual(readers.map(() => 4002));

      // Every logged event (the readers' joins, then the messages) from seq 1: each reader saw a prefix, nothing skipped.
      const total = room.lastSeq + MESSAGES;
      const seen = readers.map((reader) => loggedIn(reader.socket, room.id));
      for (const seqs of seen) expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(Math.max(...seen.map((seqs) => seqs.length))).toBeLessThan(total);

      // Back, reading: a few at a time, so the test's own process keeps up with parsing 10 MB per socket.
      for (let from = 0; from < READERS; from += 10) {
        await Promise.all(
          readers.slice(from, from + 10).map(async (reader, offset) => {
            const lastSeq = (seen[from + offset] as number[]).length;
            const again = await openChatterSocket(own.url, reader.who, positionIn(room, lastSeq));
            sockets.push(again);
            expect(again.events.find((event) => event.type === "resumed")).toEqual({
              type: "resumed",
              roomId: room.id,
              recovered: true,
              missed: null,
              epoch: room.epoch,
              reset: false,
            });
            expect(loggedIn(again, room.id)).toEqual(Array.from({ length: total - lastSeq }, (_, i) => lastSeq + i + 1));
            again.terminate();
          }),
        );
      }
    }, 180_000);
  });
}

async function openPausedReader(server: ServerProcess, who: Chatter, room: Room, viaTicket: boolean): Promise<PausedReader> {
  const socket = viaTicket
    ? await openTestSocket(await ticketUrl(server, who, positionIn(room, 0)))
    : await openChatterSocket(server.url, who);
  const tcp = (socket.raw as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  tcp.pause();
  if (!viaTicket) socket.send({ type: "resume", rooms: positionIn(room, 0) });
  return { who, socket, resumeReading: () => tcp.resume() };
}

async function ticketUrl(server: ServerProcess, who: Chatter, resume: ResumePositions): Promise<string> {
  const { ticket } = await who.client.api.auth.wsTicket.mutate({ resume });
  return `${server.url.replace("http", "ws")}/ws?ticket=${ticket}`;
}

/** The seqs of every logged room event the socket received for the room, in arrival order. */
function loggedIn(socket: TestSocket, roomId: string): number[] {
  return socket.events.flatMap((event) => ("seq" in event && event.roomId === roomId ? [event.seq] : []));
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
