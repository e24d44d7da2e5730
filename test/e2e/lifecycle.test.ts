import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { Message, MessagePage, MyRoom, Room } from "../../src/contract.ts";
import { registerChatter } from "../support/chatters.ts";
import { uniqueUsername } from "../support/factories.ts";
import { bearer, createHttpProbe, resultOf, type SignedUp, signUp } from "../support/http-probe.ts";
import { watchReadiness } from "../support/readiness-watch.ts";
import { startServer } from "../support/server-process.ts";
import { openTestSocket } from "../support/socket-client.ts";

const DRAIN_MS = 1000;
const SOCKETS = 10;
const METRICS_TOKEN = "lifecycle-metrics-token-0123";

/**
 * A Bun server's life from the outside: healthy, draining on SIGTERM (sockets closed with 1012 in batches over
 * DRAIN_MS, readiness failing, exit 0), and the zero-config default (embedded PGlite on disk) surviving a restart.
 */
describe("server lifecycle (Bun)", () => {
  it("reports ready with the database and bus up, and live, on a healthy server", async () => {
    const server = await startServer("bun", { METRICS_TOKEN });
    try {
      const ready = await fetch(`${server.url}/readyz`, { headers: bearer(METRICS_TOKEN) });
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ready", draining: false, database: "up", bus: "up", connections: 0 });
      const live = await fetch(`${server.url}/livez`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: "ok" });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("drains on SIGTERM: sockets closed with 1012 in batches across the drain window, readiness failing, exit 0", async () => {
    const server = await startServer("bun", { DRAIN_MS: String(DRAIN_MS), METRICS_TOKEN });
    const chatter = await registerChatter(server.url, "drained");
    const closes: Promise<{ code: number; at: number }>[] = [];
    for (let i = 0; i < SOCKETS; i++) {
      const { ticket } = await chatter.client.api.auth.wsTicket.mutate({});
      const socket = await openTestSocket(`${server.url.replace("http", "ws")}/ws?ticket=${ticket}`);
      await socket.waitFor((event) => event.type === "ready");
      closes.push(socket.closed.then(({ code }) => ({ code, at: Date.now() })));
    }
    const before = await fetch(`${server.url}/readyz`, { headers: bearer(METRICS_TOKEN) }).then((response) => response.json());
    expect(before).toMatchObject({ status: "ready", connections: SOCKETS });
    const { ticket } = await chatter.client.api.auth.wsTicket.mutate({});

    const readiness = await watchReadiness(server.url);
    const signalledAt = Date.now();
    const stopped = server.stop("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS / 4));
    // A socket closed early reconnects at once: it is told to come back later, not refused at the TCP level.
    const reconnect = await createHttpProbe(server.url).upgrade(`/ws?ticket=${ticket}`);
    expect(reconnect.status).toBe(503);
    expect(Number(reconnect.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const exitCode = await stopped;
    // Once the process is gone the port is closed: wait for a probe made after the exit to say so (under load the
    // watch may not have probed between the exit and here).
    const exitedAt = Date.now();
    await vi.waitFor(() => expect(readiness.samples.some((sample) => sample.at >= exitedAt && "refused" in sample)).toBe(true), { timeout: 5000 });
    readiness.stop();
    const closed = await Promise.all(closes);

    expect(exitCode, server.output()).toBe(0);
    expect(closed.map(({ code }) => code)).toEqual(Array(SOCKETS).fill(1012));
    const times = closed.map(({ at }) => at - signalledAt).sort((a, b) => a - b);
    // 10 sockets over 1000 ms: one batch every ~100 ms, the last ~900 ms in. Not a herd at one instant.
    expect((times.at(-1) ?? 0) - (times[0] ?? 0), JSON.stringify(times)).toBeGreaterThanOrEqual(DRAIN_MS * 0.6);
    expect(new Set(times.map((t) => Math.round(t / 50))).size, JSON.stringify(times)).toBeGreaterThanOrEqual(5);
    expect(times.at(-1)).toBeLessThan(DRAIN_MS + 2000);

    // The listener stays up through the drain: from the signal on nothing answers ready, and new connections are
    // answered 503 (not refused) until the drain is over; only then does the port close.
    // (50 ms of grace: a probe sent just after kill() may reach the server before the signal does.)
    const after = readiness.samples.filter((sample) => sample.at >= signalledAt + 50);
    expect(after.length).toBeGreaterThan(10);
    expect(after.filter((sample) => "status" in sample && sample.status === 200), JSON.stringify(after.slice(0, 6))).toEqual([]);
    const fresh = after.filter((sample) => sample.via === "new-connection");
    const duringDrain = fresh.filter((sample) => sample.at <= signalledAt + DRAIN_MS * 0.8);
    expect(duringDrain.length).toBeGreaterThan(3);
    expect(duringDrain.every((sample) => "status" in sample && sample.status === 503), JSON.stringify(duringDrain.slice(0, 6))).toBe(true);
    expect(fresh.some((sample) => "refused" in sample && sample.refused === "ECONNREFUSED")).toBe(true);
  });

  it("keeps accounts, rooms, messages and sessions across a restart on the zero-config embedded database", { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "parley-durable-"));
    // No DATABASE_URL (an empty value counts as unset): the default, PGlite persisted under DATA_DIR.
    const env = { DATABASE_URL: "", DATA_DIR: dataDir };
    try {
      const first = await startServer("bun", env);
      const username = uniqueUsername("durable");
      let account: SignedUp;
      let room: Room;
      let message: Message;
      try {
        expect(first.logs.find((line) => line.msg === "dependencies ready")).toMatchObject({ database: "pglite", redis: "in-process" });
        const probe = createHttpProbe(first.url);
        account = await signUp(probe, username);
        room = resultOf<Room>(await probe.mutate("rooms.create", { name: "kept", kind: "private" }, { headers: bearer(account.accessToken) }));
        const sent = { roomId: room.id, clientMsgId: "durable-message-1", body: "still here after a restart" };
        message = resultOf<Message>(await probe.mutate("messages.send", sent, { headers: bearer(account.accessToken) }));
      } finally {
        expect(await first.stop()).toBe(0);
      }
      expect(existsSync(join(dataDir, "pglite"))).toBe(true);

      const second = await startServer("bun", env);
      try {
        const probe = createHttpProbe(second.url);
        const login = await probe.mutate("auth.login", { login: username, password: "correct horse battery staple", refreshTokenIn: "body" });
        const session = resultOf<SignedUp>(login);
        expect(session.user.id).toBe(account.user.id);
        const rooms = resultOf<MyRoom[]>(await probe.query("rooms.list", undefined, { headers: bearer(session.accessToken) }));
        expect(rooms.find((mine) => mine.id === room.id)).toMatchObject({ name: "kept", role: "owner", lastSeq: 1 });
        const page = resultOf<MessagePage>(await probe.query("messages.list", { roomId: room.id }, { headers: bearer(session.accessToken) }));
        expect(page.messages).toEqual([message]);

        // Sessions live in the same database (the sessions table): the old refresh token still rotates, and
        // the access token issued before the restart still verifies against its live session.
        const refreshed = await probe.mutate("auth.refresh", { refreshToken: account.refreshToken, refreshTokenIn: "body" });
        expect(resultOf<SignedUp>(refreshed).refreshToken).not.toBe(account.refreshToken);
        expect((await probe.query("auth.me", undefined, { headers: bearer(account.accessToken) })).status).toBe(200);
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
