import { createServer, type Server } from "node:http";
import type { WSContext } from "hono/ws";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import type { ServerEvent } from "../../src/contract.ts";
import type { ResumePositions } from "../../src/domain/room-log/room-log.schema.ts";
import type { ResumeResult, SlowConsumerCause } from "../../src/realtime/counters.ts";
import { createRealtimeHub, type RealtimeHub } from "../../src/realtime/hub.ts";
import { createMemoryFanout } from "../../src/realtime/memory-fanout.ts";
import { standardSocketIo } from "../../src/realtime/standard-socket-io.ts";
import { createUser } from "../support/factories.ts";
import { openTestSocket, type TestSocket, type UpgradeRefusal } from "../support/socket-client.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";

/** What the hub reported through its counter hooks. */
interface Counted {
  refused: string[];
  resumed: ResumeResult[];
  slow: SlowConsumerCause[];
}

/**
 * The hub behind real `ws` sockets in this process, the way a runtime drives it: each upgrade (`?user=…&resume=…`
 * standing in for a redeemed ticket) is admitted — or refused with 429 — and the admitted socket's events are
 * fed to its handlers. What the hub counts goes to `counted`.
 */
async function hubOnSockets(deps: TestDeps, options: { maxSocketsPerUser: number }): Promise<{ hub: RealtimeHub; url: string; counted: Counted; close(): Promise<void> }> {
  const counted: Counted = { refused: [], resumed: [], slow: [] };
  const hub = createRealtimeHub({
    services: deps.services,
    bus: deps.bus,
    fanout: createMemoryFanout(),
    socketIo: standardSocketIo,
    logger: deps.logger,
    resumeMaxMessages: 5,
    maxBufferedBytes: 1024 * 1024,
    stallTimeoutMs: 10_000,
    maxSocketsPerUser: options.maxSocketsPerUser,
    frameBudget: { capacity: 100, periodSeconds: 10 },
    tailCheckMs: 0,
    onSocketRefused: (reason) => counted.refused.push(reason),
    onResume: (result) => counted.resumed.push(result),
    onSlowConsumerClose: (cause) => counted.slow.push(cause),
  });
  const sockets = new WebSocketServer({ noServer: true });
  const server: Server = createServer();
  server.on("upgrade", (request, tcp, head) => {
    const query = new URL(request.url ?? "/", "http://hub.test").searchParams;
    const resume = query.get("resume");
    const admission = hub.admit({
      userId: query.get("user") ?? "",
      sessionId: crypto.randomUUID(),
      resume: resume ? (JSON.parse(resume) as ResumePositions) : null,
    });
    if (!admission.admitted) {
      tcp.end(`HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${admission.retryAfterSeconds}\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const { events } = admission;
    sockets.handleUpgrade(request, tcp, head, (ws: WebSocket) => {
      const context = { raw: ws } as unknown as WSContext; // the hub reads only the native socket
      events.onOpen?.(new Event("open"), context);
      ws.on("message", (data) => events.onMessage?.(new MessageEvent("message", { data: data.toString() }), context));
      ws.on("close", (code) => events.onClose?.(Object.assign(new Event("close"), { code }) as CloseEvent, context));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    hub,
    url: `ws://127.0.0.1:${port}/ws`,
    counted,
    close: async () => {
      await hub.drain(0);
      for (const ws of sockets.clients) ws.terminate();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("realtime hub: per-user socket cap and counters", () => {
  let deps: TestDeps;
  const opened: TestSocket[] = [];

  beforeAll(async () => {
    deps = await createTestDeps("pglite");
  });
  afterEach(() => {
    for (const socket of opened.splice(0)) socket.terminate();
    vi.useRealTimers();
  });
  afterAll(() => deps.close());

  async function open(url: string): Promise<TestSocket> {
    const socket = await openTestSocket(url);
    opened.push(socket);
    await socket.waitFor((event: ServerEvent) => event.type === "ready");
    return socket;
  }

  it("refuses a user's socket past the cap with 429, counts the refusal, and admits one again once a socket closes", async () => {
    const served = await hubOnSockets(deps, { maxSocketsPerUser: 2 });
    const [alice, bob] = [await createUser(deps.database), await createUser(deps.database)];
    const first = await open(`${served.url}?user=${alice.id}`);
    await open(`${served.url}?user=${alice.id}`);
    await expect(openTestSocket(`${served.url}?user=${alice.id}`)).rejects.toMatchObject({ status: 429 } satisfies Partial<UpgradeRefusal>);
    expect(served.counted.refused).toEqual(["per_user_cap"]);
    await open(`${served.url}?user=${bob.id}`); // another user is not affected

    first.close();
    await first.closed;
    await vi.waitFor(() => expect(served.hub.stats().connections).toBe(2));
    await open(`${served.url}?user=${alice.id}`);
    expect(served.counted.refused).toEqual(["per_user_cap"]);
    await served.close();
  });

  it("gives back the slot of an admitted upgrade whose socket never opens, after 10 s", async () => {
    const served = await hubOnSockets(deps, { maxSocketsPerUser: 1 });
    const alice = await createUser(deps.database);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const abandoned = served.hub.admit({ userId: alice.id, sessionId: crypto.randomUUID(), resume: null });
    expect(abandoned.admitted).toBe(true);
    expect(served.hub.admit({ userId: alice.id, sessionId: crypto.randomUUID(), resume: null })).toMatchObject({ admitted: false });
    vi.advanceTimersByTime(10_000);
    vi.useRealTimers();
    await open(`${served.url}?user=${alice.id}`);
    await served.close();
  });

  it("counts each resumed room by outcome: recovered, or not (more missed than the resume budget)", async () => {
    const served = await hubOnSockets(deps, { maxSocketsPerUser: 16 });
    const alice = await createUser(deps.database);
    const [quiet, busy] = [
      await deps.services.rooms.create(alice.id, { name: "quiet", kind: "public" }),
      await deps.services.rooms.create(alice.id, { name: "busy", kind: "public" }),
    ];
    for (let i = 0; i < 8; i++) {
      await deps.services.messages.send(alice.id, { roomId: busy.id, clientMsgId: crypto.randomUUID(), body: `busy ${i}` });
    }
    await deps.services.messages.send(alice.id, { roomId: quiet.id, clientMsgId: crypto.randomUUID(), body: "hello" });
    const restored = await deps.services.rooms.create(alice.id, { name: "restored", kind: "public" });
    const resume = JSON.stringify({
      [quiet.id]: { seq: 0, epoch: quiet.epoch },
      [busy.id]: { seq: 0, epoch: busy.epoch },
      [restored.id]: { seq: 0, epoch: restored.epoch + 1 }, // a position from another epoch of the room's stream
    });
    const socket = await open(`${served.url}?user=${alice.id}&resume=${encodeURIComponent(resume)}`);
    expect(socket.events.filter((event) => event.type === "resumed")).toHaveLength(3);
    expect([...served.counted.resumed].sort()).toEqual(["not_recovered", "recovered", "reset"]);
    expect(served.counted.slow).toEqual([]);
    await served.close();
  });
});
