import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServer } from "../support/server-process.ts";

/*
 * The web app's Content-Security-Policy as a real Chromium enforces it, on a page Parley serves from a build made
 * here: the build's own script and stylesheet load, inline script and style do not, and the page may open its
 * WebSocket to the host it came from — through 'self' alone: PUBLIC_URL names another host here, so its explicit
 * ws: origin in connect-src cannot be what allows it — but not to any other host.
 */

const CHROMIUM = "/usr/lib/chromium/chromium";
const CI = process.env.CI === "true";

const INDEX =
  `<!doctype html><html><head><link rel="stylesheet" href="/assets/app-abc123.css"><style>#root{color:rgb(255,0,0)}</style></head>` +
  `<body><div id="root"></div><script>window.inlineRan = true;</script><script type="module" src="/assets/app-abc123.js"></script></body></html>`;
const SCRIPT = `
window.sockets = {};
for (const [name, url] of [["own", location.origin.replace(/^http/, "ws") + "/ws"], ["foreign", "ws://elsewhere.invalid/ws"]]) {
  window.sockets[name] = new Promise((resolve) => {
    try {
      const socket = new WebSocket(url);
      socket.onopen = () => resolve("open");
      socket.onerror = () => resolve("error");
      socket.onclose = () => resolve("closed");
    } catch (error) {
      resolve("threw " + error.name);
    }
  });
}
document.getElementById("root").textContent = "loaded";
`;

describe.skipIf(!existsSync(CHROMIUM) && !CI)("the web app's CSP in Chromium", () => {
  let buildDir: string;
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`CI=true but no Chromium at ${CHROMIUM}: refusing to skip the browser tests`);
    buildDir = mkdtempSync(join(tmpdir(), "parley-web-csp-"));
    mkdirSync(join(buildDir, "assets"));
    writeFileSync(join(buildDir, "index.html"), INDEX);
    writeFileSync(join(buildDir, "assets/app-abc123.js"), SCRIPT);
    writeFileSync(join(buildDir, "assets/app-abc123.css"), "#root{color:rgb(0,128,0)}");
    [server, browser] = await Promise.all([
      startServer("bun", { WEB_DIST_DIR: buildDir, PUBLIC_URL: "http://parley.elsewhere.test" }),
      chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"] }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  });

  it("runs the build's script and style, refuses inline ones, and lets the page reach only its own host's socket", async () => {
    const page = await browser.newPage();
    const messages: string[] = [];
    page.on("console", (message) => messages.push(message.text()));
    await page.goto(`${server.url}/rooms/abc`); // a reload of one of the app's own URLs
    await page.locator("#root", { hasText: "loaded" }).waitFor({ timeout: 8000 });

    expect(await page.evaluate(() => (window as { inlineRan?: boolean }).inlineRan ?? false)).toBe(false);
    expect(await page.locator("#root").evaluate((root) => getComputedStyle(root).color)).toBe("rgb(0, 128, 0)");
    const sockets = await page.evaluate(async () => {
      const { own, foreign } = (window as unknown as { sockets: Record<"own" | "foreign", Promise<string>> }).sockets;
      return { own: await own, foreign: await foreign };
    });
    expect(sockets.foreign).not.toBe("open");

    const refused = messages.filter((text) => text.includes("Content Security Policy"));
    expect(refused.some((text) => /inline script/.test(text))).toBe(true);
    expect(refused.some((text) => /inline style/.test(text))).toBe(true);
    expect(refused.some((text) => text.includes("ws://elsewhere.invalid"))).toBe(true);
    expect(refused.filter((text) => text.includes(server.url.replace(/^http/, "ws")))).toEqual([]);
    // …and its own socket reached the server (which refused it for its origin: only CSP is under test here).
    await expect.poll(() => server.logs.some((line) => line.msg === "request" && line.path === "/ws")).toBe(true);
    await page.close();
  });
});
