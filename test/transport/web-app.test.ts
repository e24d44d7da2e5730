import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInProcessApp, type InProcessApp } from "../support/in-process-app.ts";
import { type RuntimeName, type ServerProcess, startServer } from "../support/server-process.ts";

/*
 * The built web app at `/`, against a build made here (what `vite build` leaves in web/dist: index.html and
 * content-hashed files under assets/): hashed files cached for good, the rest revalidated; the app's own URLs answered
 * with index.html; the API's misses still JSON; nothing outside the build readable; a strict CSP on every page.
 */

const INDEX = `<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script><link rel="stylesheet" href="/assets/app-abc123.css"></head><body><div id="root"></div></body></html>`;
const SCRIPT = `document.getElementById("root").textContent = "parley";`;
const SECRET = "outside-the-build-secret";
const HTML = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };

/** A build folder like vite's, with a secret beside it (the traversal target), a dotfile and a link leading out. */
function fixtureBuild(): { root: string; dist: string } {
  const root = mkdtempSync(join(tmpdir(), "parley-web-"));
  const dist = join(root, "dist");
  mkdirSync(join(dist, "assets"), { recursive: true });
  writeFileSync(join(dist, "index.html"), INDEX);
  writeFileSync(join(dist, "assets/app-abc123.js"), SCRIPT);
  writeFileSync(join(dist, "assets/app-abc123.css"), "body{margin:0}");
  writeFileSync(join(dist, "favicon.svg"), `<svg xmlns="http://www.w3.org/2000/svg"/>`);
  writeFileSync(join(dist, ".env"), SECRET);
  writeFileSync(join(root, "secret.txt"), SECRET);
  symlinkSync(join(root, "secret.txt"), join(dist, "leak.txt"));
  return { root, dist };
}

function cspDirectives(header: string | null): Map<string, string[]> {
  return new Map((header ?? "").split(";").map((part) => part.trim().split(/\s+/)).map(([name, ...values]) => [name as string, values]));
}

describe("the web app through the in-process app", () => {
  let build: { root: string; dist: string };
  let server: InProcessApp;
  let dataDir: string;
  beforeAll(async () => {
    build = fixtureBuild();
    dataDir = mkdtempSync(join(tmpdir(), "parley-web-data-"));
    server = await createInProcessApp({ DATA_DIR: dataDir, WEB_DIST_DIR: build.dist, PUBLIC_URL: "https://chat.example.test" });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(build.root, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves index.html at / to be revalidated, hashed assets to be cached for good, each with its type", async () => {
    const index = await server.call("/");
    expect([index.status, index.text]).toEqual([200, INDEX]);
    expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expect(index.headers.get("etag")).toMatch(/^W\/".+"$/);
    expect(index.headers.get("last-modified")).toBeTruthy();

    const script = await server.call("/assets/app-abc123.js");
    expect([script.status, script.text]).toEqual([200, SCRIPT]);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(script.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect((await server.call("/assets/app-abc123.css")).headers.get("content-type")).toBe("text/css; charset=utf-8");

    const icon = await server.call("/favicon.svg");
    expect([icon.headers.get("content-type"), icon.headers.get("cache-control")]).toEqual(["image/svg+xml", "no-cache"]);
  });

  it("answers a revalidation with 304 and a HEAD with the headers alone", async () => {
    const index = await server.call("/");
    const again = await server.call("/", { headers: { "if-none-match": index.headers.get("etag") as string } });
    expect([again.status, again.text]).toEqual([304, ""]);

    const head = await server.app.request("http://127.0.0.1/assets/app-abc123.js", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(SCRIPT.length));
    expect(head.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await head.text()).toBe("");
  });

  it("answers the app's own URLs with index.html when a page is asked for, and a missing hashed file as a miss", async () => {
    for (const path of ["/rooms/abc", "/rooms/abc/thread/7", "/settings"]) {
      const page = await server.call(path, { headers: HTML });
      expect([path, page.status, page.text, page.headers.get("cache-control")]).toEqual([path, 200, INDEX, "no-cache"]);
    }
    const script = await server.call("/rooms/abc"); // fetch's own Accept is */*: not a navigation
    expect([script.status, script.json]).toEqual([404, { error: { code: "NOT_FOUND", message: "no such route" } }]);
    const stale = await server.call("/assets/app-old999.js", { headers: HTML });
    expect([stale.status, stale.headers.get("content-type")]).toEqual([404, "application/json"]);
  });

  it("leaves the server's own paths to the server: their misses stay JSON, and the account pages still win", async () => {
    for (const path of ["/trpc/nope.nothing", "/files/nothing", "/metrics", "/ops/jobs/nothing", "/ws/nothing", "/nowhere"]) {
      const answer = await server.call(path, { headers: path === "/nowhere" ? {} : HTML });
      expect([path, answer.status, answer.headers.get("content-type")]).toEqual([path, 404, "application/json"]);
    }
    const unsigned = await server.call("/files/object/some/key", { headers: HTML }); // the local storage's own refusal
    expect([unsigned.status, unsigned.headers.get("content-type")]).toEqual([403, "application/json"]);
    const health = await server.call("/healthz", { headers: HTML });
    expect(health.text).not.toContain("<div id=\"root\">");
    const verify = await server.call("/verify-email?token=abc", { headers: HTML });
    expect(verify.text).toContain("Verify your email address");
    expect(verify.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(verify.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("reads nothing outside the build, no dotfile, no link leading out, however the path is spelled", async () => {
    for (const path of ["/%2e%2e/secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt", "/..%5csecret.txt", "/a%00.js", "/.env", "/%2eenv", "/leak.txt", "/%E0%A4%A"]) {
      const answer = await server.call(path);
      expect([path, answer.status]).toEqual([path, 404]);
      expect(answer.text).not.toContain(SECRET);
      const asPage = await server.call(path, { headers: HTML });
      expect(asPage.text).not.toContain(SECRET);
    }
  });

  it("puts a strict CSP on the app: scripts and styles from this origin only, its socket and nothing framed", async () => {
    const index = await server.call("/rooms/abc", { headers: HTML });
    const csp = cspDirectives(index.headers.get("content-security-policy"));
    expect(csp.get("script-src")).toEqual(["'self'"]);
    expect(csp.get("style-src")).toEqual(["'self'"]);
    expect(csp.get("default-src")).toEqual(["'self'"]);
    expect(csp.get("connect-src")).toEqual(["'self'", "wss://chat.example.test"]);
    expect(csp.get("img-src")).toEqual(["'self'", "blob:", "data:"]);
    expect([csp.get("object-src"), csp.get("base-uri"), csp.get("frame-ancestors")]).toEqual([["'none'"], ["'none'"], ["'none'"]]);
    expect(csp.get("form-action")).toEqual(["'self'"]);
    expect(index.headers.get("x-content-type-options")).toBe("nosniff");
    expect(index.headers.get("referrer-policy")).toBe("strict-origin-when-cross-origin");
  });

  it("says how to build the app when the build is missing, instead of a JSON 404", async () => {
    const empty = mkdtempSync(join(tmpdir(), "parley-web-empty-"));
    const unbuilt = await createInProcessApp({ DATA_DIR: join(empty, "data"), WEB_DIST_DIR: join(empty, "dist") });
    try {
      const page = await unbuilt.call("/");
      expect([page.status, page.headers.get("content-type")]).toEqual([404, "text/html; charset=UTF-8"]);
      expect(page.text).toContain("npm run build:web");
      expect((await unbuilt.call("/rooms/abc", { headers: HTML })).text).toContain("The web app is not built");
      expect((await unbuilt.call("/trpc/nope.nothing", { headers: HTML })).headers.get("content-type")).toBe("application/json");
    } finally {
      await unbuilt.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("serves nothing at / with WEB_APP=off", async () => {
    const off = await createInProcessApp({ DATA_DIR: join(dataDir, "off"), WEB_DIST_DIR: build.dist, WEB_APP: "off" });
    try {
      const root = await off.call("/", { headers: HTML });
      expect([root.status, root.json]).toEqual([404, { error: { code: "NOT_FOUND", message: "no such route" } }]);
    } finally {
      await off.close();
    }
  });

  it("lets the page reach S3 (uploads, images) at the origin the presigned URLs name", async () => {
    const s3 = { FILE_STORAGE: "s3", S3_BUCKET: "parley-files", S3_ACCESS_KEY_ID: "key", S3_SECRET_ACCESS_KEY: "secret-key" };
    for (const [env, origin] of [
      [{ S3_ENDPOINT: "https://fly.storage.tigris.dev" }, "https://parley-files.fly.storage.tigris.dev"],
      [{ S3_ENDPOINT: "http://127.0.0.1:7481", S3_FORCE_PATH_STYLE: "true" }, "http://127.0.0.1:7481"],
      [{ S3_REGION: "eu-west-1" }, "https://parley-files.s3.eu-west-1.amazonaws.com"],
    ] as const) {
      const app = await createInProcessApp({ DATA_DIR: join(dataDir, "s3"), WEB_DIST_DIR: build.dist, ...s3, ...env });
      try {
        const csp = cspDirectives((await app.call("/")).headers.get("content-security-policy"));
        expect(csp.get("img-src")).toEqual(["'self'", "blob:", "data:", origin]);
        expect(csp.get("connect-src")).toEqual(["'self'", "ws://localhost:3000", origin]);
      } finally {
        await app.close();
      }
    }
  }, 120_000); // three apps booted in turn (each migrates its own in-memory database)
});

/** A GET or HEAD with the path sent exactly as written: no client-side normalisation of `..` or percent-escapes. */
function rawRequest(
  server: ServerProcess,
  path: string,
  options: { method?: "GET" | "HEAD"; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port: server.port, path, method: options.method ?? "GET", headers: options.headers }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }));
    });
    request.on("error", reject);
    request.end();
  });
}

describe.each(["bun", "deno", "node"] satisfies RuntimeName[])("the web app served by a real server on %s", (runtime) => {
  let build: { root: string; dist: string };
  let server: ServerProcess;
  beforeAll(async () => {
    build = fixtureBuild();
    server = await startServer(runtime, { WEB_DIST_DIR: build.dist });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(build.root, { recursive: true, force: true });
  });

  it("serves the build with its caching headers, types and CSP; HEAD and revalidation work", async () => {
    const index = await rawRequest(server, "/");
    expect([index.status, index.text, index.headers["content-type"], index.headers["cache-control"]]).toEqual([200, INDEX, "text/html; charset=utf-8", "no-cache"]);
    const csp = cspDirectives(index.headers["content-security-policy"] as string);
    expect(csp.get("script-src")).toEqual(["'self'"]);
    expect(csp.get("connect-src")?.[0]).toBe("'self'");
    expect([index.headers["x-content-type-options"], index.headers["referrer-policy"]]).toEqual(["nosniff", "strict-origin-when-cross-origin"]);

    const script = await rawRequest(server, "/assets/app-abc123.js");
    expect([script.status, script.text, script.headers["content-type"], script.headers["cache-control"]]).toEqual([
      200,
      SCRIPT,
      "text/javascript; charset=utf-8",
      "public, max-age=31536000, immutable",
    ]);
    const head = await rawRequest(server, "/assets/app-abc123.js", { method: "HEAD" });
    expect([head.status, head.text, head.headers["content-length"]]).toEqual([200, "", String(SCRIPT.length)]);
    const again = await rawRequest(server, "/", { headers: { "if-none-match": index.headers.etag as string } });
    expect([again.status, again.text]).toEqual([304, ""]);
  });

  it("answers /rooms/x reloads with index.html and keeps the API's misses JSON", async () => {
    const page = await rawRequest(server, "/rooms/x", { headers: HTML });
    expect([page.status, page.text]).toEqual([200, INDEX]);
    for (const path of ["/trpc/nope.nothing", "/nowhere"]) {
      const miss = await rawRequest(server, path, { headers: path === "/nowhere" ? {} : HTML });
      expect([path, miss.status, miss.headers["content-type"]]).toEqual([path, 404, "application/json"]);
    }
  });

  it("refuses every path that leads out of the build, as sent on the wire", async () => {
    for (const path of ["/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt", "/a%00.js", "/.env", "/leak.txt"]) {
      const answer = await rawRequest(server, path);
      expect([path, answer.status >= 400 && answer.status < 500]).toEqual([path, true]);
      expect(answer.text).not.toContain(SECRET);
    }
  });

  it("reads the build on each request: a removed build gets the how-to-build page", async () => {
    rmSync(build.dist, { recursive: true, force: true });
    const page = await rawRequest(server, "/");
    expect([page.status, page.text.includes("npm run build:web")]).toEqual([404, true]);
  });
});
