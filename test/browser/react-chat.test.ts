import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { type Browser, type BrowserContext, type Locator, type Page, type Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueUsername } from "../support/factories.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";
import { buildOnce, launchChromium, noChromium } from "../support/web-browser.ts";

/**
 * examples/react-chat — Vite + React + TanStack Query + @trpc/tanstack-react-query on @parley/client as a workspace
 * dependency — built the way its README says (`npm run build:sdk`, then the example's `npm run build`: strict tsc and
 * vite build), served from its own origin and driven by two people in Chromium against a real Parley. Every tRPC
 * request each page makes is recorded, to show that live messages and unread counts arrive through the cache bridge
 * and never through a refetch.
 */

const ROOT = new URL("../../", import.meta.url).pathname;
const EXAMPLE = join(ROOT, "examples/react-chat");
const PASSWORD = "correct horse battery staple";

interface Person {
  context: BrowserContext;
  page: Page;
  username: string;
  /** The procedures of every tRPC request the page sent, in order (a batch counts each of its procedures). */
  calls: string[];
  /** tRPC requests sent and not yet answered. */
  inFlight: number;
  /** Console errors and uncaught exceptions on the page, with the URL they are about. */
  problems: { text: string; url: string }[];
}

describe.skipIf(noChromium)("React + TanStack Query example (examples/react-chat)", () => {
  let pages: Server;
  let pageOrigin: string;
  let server: ServerProcess;
  let browser: Browser;
  const people: Person[] = [];

  beforeAll(async () => {
    pages = await serveBuild(join(EXAMPLE, "dist"));
    pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    const [built, started, launched] = await Promise.allSettled([
      buildOnce("sdk", "react-chat"),
      startServer("bun", { ALLOWED_ORIGINS: pageOrigin }),
      launchChromium(),
    ]);
    // Keep what started, for afterAll to stop, before failing on what did not.
    if (started.status === "fulfilled") server = started.value;
    if (launched.status === "fulfilled") browser = launched.value;
    for (const result of [built, started, launched]) if (result.status === "rejected") throw result.reason;
  }, 180_000);

  afterAll(async () => {
    await Promise.all(people.map((someone) => someone.context.close()));
    await browser?.close();
    const code = await server?.stop();
    await new Promise((resolve) => pages?.close(resolve));
    expect(code, server?.output()).toBe(0);
  });

  async function person(name: string): Promise<Person> {
    const context = await browser.newContext();
    context.setDefaultTimeout(8000); // fail with the step that hung, well inside the test's own timeout
    const page = await context.newPage();
    const someone: Person = { context, page, username: uniqueUsername(name), calls: [], inFlight: 0, problems: [] };
    const isTrpc = (url: string): boolean => new URL(url).pathname.startsWith("/trpc/");
    page.on("request", (request) => {
      if (!isTrpc(request.url())) return;
      someone.inFlight += 1;
      someone.calls.push(...decodeURIComponent(new URL(request.url()).pathname.slice("/trpc/".length)).split(","));
    });
    const answered = (request: Request): void => {
      if (isTrpc(request.url())) someone.inFlight -= 1;
    };
    page.on("requestfinished", answered);
    page.on("requestfailed", answered);
    page.on("console", (message) => {
      if (message.type() === "error") someone.problems.push({ text: message.text(), url: message.location().url });
    });
    page.on("pageerror", (error) => someone.problems.push({ text: `uncaught: ${error.message}`, url: "" }));
    people.push(someone);
    await page.goto(`${pageOrigin}/?api=${encodeURIComponent(server.url)}`);
    await page.getByTestId("auth-view").waitFor();
    return someone;
  }

  async function register(someone: Person): Promise<void> {
    const { page, username } = someone;
    await page.getByTestId("register-email").fill(`${username}@example.test`);
    await page.getByTestId("register-username").fill(username);
    await page.getByTestId("register-password").fill(PASSWORD);
    await page.getByTestId("register-submit").click();
    await signedInAs(someone);
  }

  async function signedInAs({ page, username }: Person): Promise<void> {
    await page.getByTestId("chat-view").waitFor();
    await page.locator('[data-testid="connection-state"][data-state="open"]').waitFor();
    expect(await page.getByTestId("current-user").textContent()).toBe(username);
  }

  async function createRoom({ page }: Person, name: string): Promise<string> {
    await page.getByTestId("create-room-name").fill(name);
    await page.getByTestId("create-room-submit").click();
    await page.locator(`[data-testid="room-name"]:text-is("${name}")`).waitFor();
    const roomId = (await page.getByTestId("room-id").textContent()) ?? "";
    expect(roomId).toMatch(/^[0-9a-f-]{36}$/);
    await roomItem(page, roomId).waitFor();
    return roomId;
  }

  async function joinRoom({ page }: Person, roomId: string): Promise<void> {
    await page.getByTestId("join-room-id").fill(roomId);
    await page.getByTestId("join-room-submit").click();
    await page.locator(`[data-testid="room-id"]:text-is("${roomId}")`).waitFor();
    await roomItem(page, roomId).waitFor();
  }

  function roomItem(page: Page, roomId: string): Locator {
    return page.locator(`[data-testid="room-item"][data-room-id="${roomId}"]`);
  }

  async function send({ page }: Person, text: string): Promise<void> {
    await page.getByTestId("message-input").fill(text);
    await page.getByTestId("message-input").press("Enter");
  }

  async function messageWithBody({ page }: Person, text: string): Promise<Locator> {
    const line = page.getByTestId("message").filter({ has: page.getByTestId("message-body").getByText(text, { exact: true }) });
    await line.waitFor();
    return line;
  }

  /** Waits until the page has had no tRPC request in flight for 300 ms: whatever the last step set off is done. */
  async function settled(someone: Person): Promise<void> {
    let quietSince = Date.now();
    while (Date.now() - quietSince < 300) {
      if (someone.inFlight > 0) quietSince = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** The procedures the page called since `from` (an index into its calls). */
  const callsSince = (someone: Person, from: number): string[] => someone.calls.slice(from);

  function expectNoProblems(...everyone: Person[]): void {
    for (const { username, problems } of everyone) {
      // Signing in again from the cookie is tried on every load; with no (or a revoked) cookie it answers 401.
      const unexpected = problems.filter((problem) => !(problem.text.includes("status of 401") && problem.url.includes("/trpc/auth.refresh")));
      expect(unexpected, `console errors on ${username}'s page`).toEqual([]);
    }
  }

  it("lets two people chat: live messages and unread counts reach the query cache through the bridge, never a refetch", async () => {
    const [a, b] = await Promise.all([person("ann"), person("ben")]);
    await Promise.all([register(a), register(b)]);
    const lobby = await createRoom(a, "lobby");
    await joinRoom(b, lobby);
    const quiet = await createRoom(a, "quiet"); // Ann looks at another room: the lobby's page is cached, not shown
    await Promise.all([settled(a), settled(b)]);
    const [aFrom, bFrom] = [a.calls.length, b.calls.length];

    await send(b, "hello from ben");
    await messageWithBody(b, "hello from ben");
    await send(b, "anyone here?");
    await messageWithBody(b, "anyone here?");

    // Ann's room list: the lobby moved to the top with two unread and Ben's last message, the open room unchanged.
    await a.page.locator(`[data-testid="room-item"][data-room-id="${lobby}"][data-unread="2"]`).waitFor();
    const lobbyItem = roomItem(a.page, lobby);
    expect(await lobbyItem.getByTestId("last-message").textContent()).toBe(`${b.username}: anyone here?`);
    expect(await a.page.getByTestId("room-item").evaluateAll((items) => items.map((item) => item.getAttribute("data-room-id")))).toEqual([lobby, quiet]);
    expect(await roomItem(a.page, quiet).getAttribute("data-unread")).toBe("0");

    // Opening the lobby shows both messages at once, from the page the bridge kept; reading them clears the count.
    await lobbyItem.getByRole("button").click();
    await messageWithBody(a, "anyone here?");
    expect(await a.page.getByTestId("message-body").allTextContents()).toEqual(["hello from ben", "anyone here?"]);
    await a.page.locator(`[data-testid="room-item"][data-room-id="${lobby}"][data-unread="0"]`).waitFor();

    await send(a, "hi ben");
    const reply = await messageWithBody(b, "hi ben");
    expect(await reply.getAttribute("data-seq")).toBe("4"); // the room's log: Ben's join (1), his two messages, this
    expect(await reply.getByTestId("message-sender").textContent()).toBe(a.username);
    await messageWithBody(a, "hi ben");
    await Promise.all([settled(a), settled(b)]);

    for (const [someone, from] of [[a, aFrom], [b, bFrom]] as const) {
      const calls = callsSince(someone, from);
      expect(calls, `${someone.username}'s tRPC calls`).not.toContain("messages.list");
      expect(calls, `${someone.username}'s tRPC calls`).not.toContain("rooms.list");
      expect(calls, `${someone.username}'s tRPC calls`).toContain("messages.send");
    }
    expect(callsSince(a, aFrom)).toContain("messages.markRead");
    expect(await a.page.getByTestId("message-body").allTextContents()).toEqual(["hello from ben", "anyone here?", "hi ben"]);
    expect(await b.page.getByTestId("message-body").allTextContents()).toEqual(["hello from ben", "anyone here?", "hi ben"]);
    expectNoProblems(a, b);
  });

  it("keeps the session across a reload (the refresh cookie and restore()), with the open room, then goes on live without a refetch", async () => {
    const [a, b] = await Promise.all([person("ann"), person("ben")]);
    await Promise.all([register(a), register(b)]);
    const roomId = await createRoom(a, "after hours");
    await joinRoom(b, roomId);
    await send(b, "before the reload");
    await messageWithBody(a, "before the reload");

    await a.page.reload();
    await signedInAs(a);
    await a.page.locator(`[data-testid="room-id"]:text-is("${roomId}")`).waitFor(); // the open room survives too
    await messageWithBody(a, "before the reload");
    expect(await a.page.evaluate(() => document.cookie)).not.toContain("parley_rt"); // HttpOnly: never seen by script
    await settled(a);
    const from = a.calls.length;

    await send(b, "after the reload");
    const live = await messageWithBody(a, "after the reload");
    expect(await live.getAttribute("data-seq")).toBe("3"); // Ben's join (1), the message before the reload (2), this
    expect(await a.page.getByTestId("message-body").allTextContents()).toEqual(["before the reload", "after the reload"]);
    await settled(a);
    expect(callsSince(a, from)).not.toContain("messages.list");

    await a.page.getByTestId("logout").click();
    await a.page.getByTestId("auth-view").waitFor();
    await a.page.reload(); // the session is over: nothing to restore
    await a.page.getByTestId("auth-view").waitFor();
    expectNoProblems(a, b);
  });
});

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** The built app as a static host serves it: index.html at /, its hashed assets, a 404 for anything else. */
function serveBuild(dir: string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://page").pathname;
    const file = path === "/" ? "index.html" : normalize(path).replace(/^\/+/, "");
    const type = TYPES[extname(file)];
    if (!type || (file !== "index.html" && !file.startsWith("assets/"))) {
      return void response.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
    let body: Buffer;
    try {
      body = readFileSync(join(dir, file)); // read per request: the build may finish after the server starts
    } catch {
      return void response.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
    response.writeHead(200, { "content-type": type, "x-content-type-options": "nosniff", "cache-control": "no-store" });
    response.end(body);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
