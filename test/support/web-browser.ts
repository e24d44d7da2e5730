import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { expect, inject } from "vitest";
import { uniqueUsername } from "./factories.ts";
import { type ServerProcess, startServer } from "./server-process.ts";
import { freePort } from "./throwaway-redis.ts";

/**
 * The web app (web/) in Debian's Chromium against a real Parley that serves it at / under its own CSP: the pieces
 * every browser spec of the app shares — one build per test run, a server, a browser, people in their own contexts,
 * and the steps they all take (register, send, find a message).
 *
 * Builds: `npm run build:sdk` and the web workspace's build write client-sdk/dist and web/dist, which every browser
 * file reads. Files run in parallel, so the builds run once per vitest run (the run id the global setup provides)
 * under a lock: the first file builds, the others wait for it and then find the stamp.
 */

export const ROOT = new URL("../../", import.meta.url).pathname;
export const CHROMIUM = "/usr/lib/chromium/chromium";
const CI = process.env.CI === "true";
export const PASSWORD = "correct horse battery staple";

/** Skip a browser suite only off CI: under CI=true a missing Chromium fails instead of shrinking the run. */
export const noChromium = !existsSync(CHROMIUM) && !CI;

type Build = "sdk" | "web" | "react-chat";
const BUILD_COMMANDS: Record<Build, string[]> = {
  sdk: ["run", "build:sdk"],
  web: ["run", "build", "--workspace", "web"],
  "react-chat": ["run", "build", "--workspace", "examples/react-chat"],
};

/** Builds what is asked (the SDK first when it is needed) once per test run, whichever file asks first. */
export async function buildOnce(...builds: Build[]): Promise<void> {
  const order: Build[] = ["sdk", ...builds.filter((build) => build !== "sdk")];
  for (const build of order) await withLock(build, async (stamp) => {
    const runId = inject("runId");
    if (existsSync(stamp) && readFileSync(stamp, "utf8") === runId) return;
    // As from a shell: vitest's NODE_ENV=test would make Vite bundle React's development build.
    await promisify(execFile)("npm", BUILD_COMMANDS[build], { cwd: ROOT, env: { ...process.env, NODE_ENV: "production" } });
    writeFileSync(stamp, runId);
  });
}

async function withLock(build: Build, work: (stamp: string) => Promise<void>): Promise<void> {
  const folder = join(ROOT, "node_modules", ".cache", "parley-test-builds");
  mkdirSync(folder, { recursive: true });
  const lock = join(folder, `${build}.lock`);
  const deadline = Date.now() + 240_000;
  for (;;) {
    try {
      mkdirSync(lock); // atomic: exactly one file holds it
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true }); // its holder was killed
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    await work(join(folder, `${build}.stamp`));
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`CI=true but no Chromium at ${CHROMIUM}: refusing to skip the browser tests`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
      "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
}

export interface Person {
  context: BrowserContext;
  page: Page;
  username: string;
  /** Console errors and uncaught exceptions on the page, with the URL they are about. */
  problems: { text: string; url: string }[];
}

export interface WebAppUnderTest {
  /** Where the app and the API are (one origin). */
  origin: string;
  server: ServerProcess;
  browser: Browser;
  /** The folder screenshots go to (printed at start). */
  shots: string;
  /** A new person in a context of their own, on the sign-in screen. */
  person(name: string, viewport?: { width: number; height: number }): Promise<Person>;
  shoot(page: Page, name: string): Promise<Buffer>;
  /** Closes every context and the browser, stops the server, and expects it to have exited cleanly. */
  stop(): Promise<void>;
}

/**
 * Builds the app (once per run), starts Parley on Bun serving it at / with the API on the same origin, and launches
 * Chromium. `env` adds to the server's environment (a mail folder, SMTP, limits).
 */
export async function startWebApp(label: string, env: Record<string, string> = {}): Promise<WebAppUnderTest> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const [built, started, launched] = await Promise.allSettled([
    buildOnce("sdk", "web"),
    // Parley reads the build per request (it may finish after the start); local-disk storage signs its file URLs
    // with PUBLIC_URL, which is this origin too.
    startServer("bun", { PORT: String(port), ALLOWED_ORIGINS: origin, PUBLIC_URL: origin, WEB_DIST_DIR: join(ROOT, "web", "dist"), ...env }),
    launchChromium(),
  ]);
  const contexts: BrowserContext[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(contexts.map((context) => context.close()));
    if (launched.status === "fulfilled") await launched.value.close();
    if (started.status === "fulfilled") {
      const code = await started.value.stop();
      expect(code, started.value.output()).toBe(0);
    }
  };
  const failed = [built, started, launched].find((result) => result.status === "rejected");
  if (failed) {
    await stop().catch(() => {});
    throw failed.reason;
  }
  const server = (started as PromiseFulfilledResult<ServerProcess>).value;
  const browser = (launched as PromiseFulfilledResult<Browser>).value;
  const shots = mkdtempSync(join(tmpdir(), `parley-web-screens-${label}-`));
  console.log(`web app screenshots (${label}): ${shots}`);

  return {
    origin,
    server,
    browser,
    shots,
    stop,
    shoot: (page, name) => page.screenshot({ path: join(shots, `${name}.png`) }),
    async person(name, viewport = { width: 1100, height: 760 }) {
      const context = await browser.newContext({ viewport });
      contexts.push(context);
      context.setDefaultTimeout(8000); // fail with the step that hung, well inside the test's own timeout
      const page = await context.newPage();
      const someone: Person = { context, page, username: uniqueUsername(name), problems: [] };
      page.on("console", (message) => {
        if (message.type() === "error") someone.problems.push({ text: message.text(), url: message.location().url });
      });
      page.on("pageerror", (error) => someone.problems.push({ text: `uncaught: ${error.message}`, url: "" }));
      await page.goto(origin);
      await page.getByTestId("auth-view").waitFor();
      return someone;
    },
  };
}

export function emailOf({ username }: Person): string {
  return `${username}@example.test`;
}

/** Signs up from the sign-in screen and waits until the chat is live. */
export async function register(someone: Person): Promise<void> {
  const { page, username } = someone;
  await page.getByTestId("show-register").click();
  await page.getByLabel("Email").fill(emailOf(someone));
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Password (8 characters or more)").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await signedInAs(someone);
}

export async function signedInAs({ page, username }: Person): Promise<void> {
  await page.getByTestId("chat-view").waitFor();
  await page.locator('[data-testid="connection-state"][data-state="online"]').waitFor();
  expect(await page.getByTestId("current-user").textContent()).toBe(username);
}

export function roomItem(page: Page, roomId: string): Locator {
  return page.locator(`[data-testid="room-item"][data-room-id="${roomId}"]`);
}

/** Creates a room from the sidebar, opens it, and answers its id. */
export async function createRoom({ page }: Person, name: string, visibility: "public" | "private" = "public"): Promise<string> {
  await page.getByLabel("Room name").fill(name);
  if (visibility !== "public") await page.getByLabel("Visibility").selectOption(visibility);
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.locator(`[data-testid="room-name"]:text-is("${name}")`).waitFor();
  const roomId = (await page.getByTestId("room-id").textContent()) ?? "";
  expect(roomId).toMatch(/^[0-9a-f-]{36}$/);
  return roomId;
}

/** Finds a public room by name in Discover and joins it. */
export async function joinPublicRoom({ page }: Person, roomId: string, name: string): Promise<void> {
  await page.getByLabel("Find public rooms by name").fill(name);
  await page.getByRole("button", { name: "Find rooms" }).click();
  await page.locator(`[data-testid="discovered-room"][data-room-id="${roomId}"]`).getByRole("button", { name: `Join ${name}` }).click();
  await page.locator(`[data-testid="room-name"]:text-is("${name}")`).waitFor();
}

export async function send({ page }: Person, text: string): Promise<void> {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByLabel("Message", { exact: true }).press("Enter");
}

export async function messageWithBody({ page }: Person, text: string): Promise<Locator> {
  const line = page.getByTestId("message").filter({ has: page.getByTestId("message-body").getByText(text, { exact: true }) });
  await line.waitFor();
  return line;
}

/** Nothing on these pages logged an error, apart from the 401 a load without a (valid) refresh cookie answers. */
export function expectNoProblems(...everyone: Person[]): void {
  for (const { username, problems } of everyone) {
    const unexpected = problems.filter((problem) => !(problem.text.includes("status of 401") && problem.url.includes("/trpc/auth.refresh")));
    expect(unexpected, `console errors on ${username}'s page`).toEqual([]);
  }
}

const AXE_SOURCE = readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core on the page as it is now and answers the serious and critical violations (WCAG 2.x A and AA, and
 * axe's best practices). axe is evaluated through the DevTools protocol, which the page's CSP does not govern, so
 * the app is checked under its real policy.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] } });
    return result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, help: violation.help, nodes: violation.nodes.map((node) => JSON.stringify(node.target)) }));
  });
  return violations.filter((violation) => violation.impact === "serious" || violation.impact === "critical");
}
