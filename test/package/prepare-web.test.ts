import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/*
 * scripts/prepare-web.mjs, the install-time build of web/ (the root `prepare`, after the SDK's), run with the real
 * vite in a checkout of its own: nothing without web/, a build on the first install, none on an unchanged repeat, a
 * new one after a source or the lockfile changed.
 */
describe("npm install's build of the web app (scripts/prepare-web.mjs)", () => {
  let checkout: string;
  const prepare = (): string => execFileSync(process.execPath, ["scripts/prepare-web.mjs"], { cwd: checkout, encoding: "utf8" });
  const builtAt = (): number => statSync(join(checkout, "web/dist/index.html")).mtimeMs;
  /** Sets a file's times a little into the future, so a change is seen whatever the file system's time resolution. */
  const touchLater = (path: string): void => {
    const later = new Date(Date.now() + 5000);
    utimesSync(path, later, later);
  };

  beforeAll(() => {
    checkout = mkdtempSync(join(tmpdir(), "parley-prepare-web-"));
    mkdirSync(join(checkout, "scripts"));
    copyFileSync(join(ROOT, "scripts/prepare-web.mjs"), join(checkout, "scripts/prepare-web.mjs"));
    writeFileSync(join(checkout, "package-lock.json"), `{"lockfileVersion":3}`);
    mkdirSync(join(checkout, "node_modules"));
    symlinkSync(join(ROOT, "node_modules/vite"), join(checkout, "node_modules/vite"));
  });
  afterAll(() => rmSync(checkout, { recursive: true, force: true }));

  it("does nothing in a checkout without web/ (before the app exists, and in the server's image)", () => {
    expect(prepare()).toContain("no web/ package here");
    expect(existsSync(join(checkout, "web/dist"))).toBe(false);
  });

  it("builds web/dist once, keeps it while nothing changed, and rebuilds after a source or the lockfile changes", () => {
    mkdirSync(join(checkout, "web/src"), { recursive: true });
    writeFileSync(join(checkout, "web/package.json"), `{"name":"web","private":true,"type":"module"}`);
    writeFileSync(join(checkout, "web/index.html"), `<!doctype html><html><body><div id="root"></div><script type="module" src="/src/main.js"></script></body></html>`);
    writeFileSync(join(checkout, "web/src/main.js"), `document.getElementById("root").textContent = "parley";\n`);

    prepare();
    const assets = readdirSync(join(checkout, "web/dist/assets"));
    expect(assets).toEqual([expect.stringMatching(/^index-[\w-]+\.js$/)]);
    const first = builtAt();

    expect(prepare()).toContain("web/dist is up to date");
    expect(builtAt()).toBe(first);

    writeFileSync(join(checkout, "web/src/main.js"), `document.getElementById("root").textContent = "parley 2";\n`);
    touchLater(join(checkout, "web/src/main.js"));
    expect(prepare()).not.toContain("up to date");
    expect(readdirSync(join(checkout, "web/dist/assets"))).not.toEqual(assets);

    writeFileSync(join(checkout, "package-lock.json"), `{"lockfileVersion":3,"packages":{}}`);
    const second = builtAt();
    expect(prepare()).not.toContain("up to date");
    expect(builtAt()).toBeGreaterThan(second);
  });
});
