import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueUsername } from "../support/factories.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";

/**
 * examples/browser-chat in a real Chromium against a real Parley: two people in two browser contexts (two cookie
 * jars), the page bundled by Bun and served from another origin than the API, as a deployed app would be.
 */

const ROOT = new URL("../../", import.meta.url).pathname;
const EXAMPLE = join(ROOT, "examples/browser-chat");
const CHROMIUM = "/usr/lib/chromium/chromium";
const CI = process.env.CI === "true";
/** Markup and a right-to-left override: both must arrive as the literal characters, inert. */
const TRICKY = "<img src=x onerror=alert(1)> \u202Eabc";
const PASSWORD = "correct horse battery staple";

interface Person {
  context: BrowserContext;
  page: Page;
  username: string;
  /** Console errors and uncaught exceptions on the page, with the URL they are about. */
  problems: { text: string; url: string }[];
  dialogs: string[];
}

describe.skipIf(!existsSync(CHROMIUM) && !CI)("browser chat example (examples/browser-chat)", () => {
  let bundleDir: string;
  let pages: Server;
  let pageOrigin: string;
  let server: ServerProcess;
  let browser: Browser;
  const people: Person[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`CI=true but no Chromium at ${CHROMIUM}: refusing to skip the browser tests`);
    bundleDir = mkdtempSync(join(tmpdir(), "parley-browser-chat-"));
    await promisify(execFile)(
      join(ROOT, "node_modules/.bin/bun"),
      ["build", join(EXAMPLE, "main.ts"), "--target", "browser", "--format", "esm", "--outfile", join(bundleDir, "main.js")],
      { cwd: ROOT },
    );
    pages = await serveExample(bundleDir);
    pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    [server, browser] = await Promise.all([
      startServer("bun", { ALLOWED_ORIGINS: pageOrigin }),
      chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
          "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
      }),
    ]);
  });

  afterAll(async () => {
    await Promise.all(people.map((someone) => someone.context.close()));
    await browser?.close();
    const code = await server?.stop();
    await new Promise((resolve) => pages?.close(resolve));
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
    expect(code, server?.output()).toBe(0);
  });

  async function person(name: string): Promise<Person> {
    const context = await browser.newContext();
    context.setDefaultTimeout(8000); // fail with the step that hung, well inside the test's own timeout
    const page = await context.newPage();
    const someone: Person = { context, page, username: uniqueUsername(name), problems: [], dialogs: [] };
    page.on("console", (message) => {
      if (message.type() === "error") someone.problems.push({ text: message.text(), url: message.location().url });
    });
    page.on("pageerror", (error) => someone.problems.push({ text: `uncaught: ${error.message}`, url: "" }));
    page.on("dialog", (dialog) => {
      someone.dialogs.push(dialog.message());
      void dialog.dismiss();
    });
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

  /** A creates a public room through the page; B joins it by the id A's page shows. */
  async function sharedRoom(a: Person, b: Person): Promise<string> {
    await a.page.getByTestId("create-room-name").fill("lobby");
    await a.page.getByTestId("create-room-submit").click();
    await a.page.getByTestId("room-view").waitFor();
    const roomId = (await a.page.getByTestId("room-id").textContent()) ?? "";
    expect(roomId).toMatch(/^[0-9a-f-]{36}$/);
    await b.page.getByTestId("join-room-id").fill(roomId);
    await b.page.getByTestId("join-room-submit").click();
    await b.page.locator(`[data-testid="room-id"]:text-is("${roomId}")`).waitFor();
    await b.page.locator(`[data-testid="room-item"][data-room-id="${roomId}"]`).waitFor();
    return roomId;
  }

  async function send({ page }: Person, text: string): Promise<void> {
    await page.getByTestId("message-input").fill(text);
    await page.getByTestId("message-input").press("Enter");
  }

  /** Waits for a message line whose body is exactly `text`, and returns its locator. */
  async function messageWithBody({ page }: Person, text: string): Promise<Locator> {
    const line = page.getByTestId("message").filter({ has: page.getByTestId("message-body").getByText(text, { exact: true }) });
    await line.waitFor();
    return line;
  }

  function expectNoProblems(...everyone: Person[]): void {
    for (const { username, problems, dialogs } of everyone) {
      // Signing in again from the cookie is tried on every load; with no (or a revoked) cookie it answers 401.
      const unexpected = problems.filter((problem) => !(problem.text.includes("status of 401") && problem.url.includes("/trpc/auth.refresh")));
      expect(unexpected, `console errors on ${username}'s page`).toEqual([]);
      expect(dialogs, `dialogs on ${username}'s page`).toEqual([]);
    }
  }

  it("lets two people chat: rooms shared by id, typing, live messages acknowledged, chat text kept literal", async () => {
    const [a, b] = await Promise.all([person("ann"), person("ben")]);
    await Promise.all([register(a), register(b)]);
    await sharedRoom(a, b);

    await a.page.getByTestId("message-input").pressSequentially("hel");
    await b.page.getByTestId("typing-indicator").getByText(`${a.username} is typing…`, { exact: true }).waitFor();

    // Record every status A's message line goes through: it must show as pending before its ack turns it sent.
    await a.page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { statuses: string[] }).statuses = seen;
      new MutationObserver((records) => {
        for (const record of records) {
          const target = record.target as HTMLElement;
          if (record.type === "attributes" && target.dataset.status) seen.push(target.dataset.status);
          for (const node of record.addedNodes) if (node instanceof HTMLElement && node.dataset.status) seen.push(node.dataset.status);
        }
      }).observe(document.querySelector('[data-testid="messages"]') as Node, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-status"] });
    });
    await send(a, TRICKY);

    const received = b.page.getByTestId("message").first();
    await received.waitFor();
    expect(await received.getByTestId("message-sender").textContent()).toBe(a.username);
    const body = received.getByTestId("message-body");
    expect(await body.evaluate((element) => element.textContent)).toBe(TRICKY);
    expect(await body.evaluate((element) => element.childNodes.length)).toBe(1); // one text node, no markup
    expect(await body.getAttribute("dir")).toBe("auto");
    expect(await body.evaluate((element) => getComputedStyle(element).unicodeBidi)).toBe("isolate");
    expect(await b.page.evaluate(() => document.querySelectorAll("img, script:not([src])").length)).toBe(0);

    const sent = await messageWithBody(a, TRICKY);
    await a.page.locator('[data-testid="message"][data-status="sent"][data-seq="2"]').waitFor();
    expect(await sent.getAttribute("data-seq")).toBe("2"); // ben's join is seq 1
    const statuses = await a.page.evaluate(() => (window as unknown as { statuses: string[] }).statuses);
    // Moving the line into seq order reports it again: compare the transitions, not the notifications.
    expect(statuses.filter((status, i) => status !== statuses[i - 1])).toEqual(["pending", "sent"]);
    expect(await a.page.getByTestId("message").count()).toBe(1);
    // A's message ended A's typing indicator on B's page.
    await b.page.waitForFunction(() => document.querySelector('[data-testid="typing-indicator"]')?.textContent === "");

    await send(b, "hi ann");
    const reply = await messageWithBody(a, "hi ann");
    expect(await reply.getAttribute("data-seq")).toBe("3");
    expect(await a.page.getByTestId("message-body").allTextContents()).toEqual([TRICKY, "hi ann"]);
    expect(await b.page.getByTestId("message-body").allTextContents()).toEqual([TRICKY, "hi ann"]);
    expect(await a.page.getByTestId("app-error").textContent()).toBe("");
    expect(await b.page.getByTestId("app-error").textContent()).toBe("");
    expectNoProblems(a, b);
  });

  it("keeps a reload signed in from the HttpOnly cookie with the history, and logging out leaves the other person chatting", async () => {
    const [a, b] = await Promise.all([person("ann"), person("ben")]);
    await Promise.all([register(a), register(b)]);
    const roomId = await sharedRoom(a, b);
    await send(a, "before the reload");
    await messageWithBody(b, "before the reload");

    const cookie = (await a.context.cookies(server.url)).find((candidate) => candidate.name === "parley_rt");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
    expect(await a.page.evaluate(() => document.cookie)).not.toContain("parley_rt");

    await a.page.reload();
    await signedInAs(a);
    await a.page.locator(`[data-testid="room-id"]:text-is("${roomId}")`).waitFor(); // the open room survives too
    await messageWithBody(a, "before the reload");
    await send(b, "after the reload");
    await messageWithBody(a, "after the reload");
    expect(await a.page.getByTestId("message-body").allTextContents()).toEqual(["before the reload", "after the reload"]);
    expect(await a.page.evaluate(() => document.cookie)).not.toContain("parley_rt");

    await a.page.getByTestId("logout").click();
    await a.page.getByTestId("auth-view").waitFor();
    expect((await a.context.cookies(server.url)).map((candidate) => candidate.name)).not.toContain("parley_rt");

    await send(b, "still here");
    const stillHere = await messageWithBody(b, "still here");
    await b.page.locator('[data-testid="message"][data-status="sent"][data-seq="4"]').waitFor();
    expect(await stillHere.getAttribute("data-seq")).toBe("4");
    expect(await b.page.getByTestId("connection-state").getAttribute("data-state")).toBe("open");

    await a.page.reload(); // the session is over: nothing to restore
    await a.page.getByTestId("auth-view").waitFor();
    expect(await a.page.getByTestId("chat-view").isHidden()).toBe(true);
    expectNoProblems(a, b);
  });
});

/** The example's static files, with the freshly bundled main.js; anything else is a 404. */
function serveExample(bundleDir: string): Promise<Server> {
  const files: Record<string, { path: string; type: string }> = {
    "/": { path: join(EXAMPLE, "index.html"), type: "text/html; charset=utf-8" },
    "/style.css": { path: join(EXAMPLE, "style.css"), type: "text/css; charset=utf-8" },
    "/main.js": { path: join(bundleDir, "main.js"), type: "text/javascript; charset=utf-8" },
  };
  const server = createServer((request, response) => {
    const file = files[new URL(request.url ?? "/", "http://page").pathname];
    if (!file) return void response.writeHead(404, { "content-type": "text/plain" }).end("not found");
    response.writeHead(200, { "content-type": file.type, "x-content-type-options": "nosniff", "cache-control": "no-store" });
    response.end(readFileSync(file.path));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
