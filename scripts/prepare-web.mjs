// prepare, after prepare-sdk.mjs (runs after `npm install` / `npm ci` of the repository): builds the web app into
// web/dist with `vite build`, so `npm start` serves it at / on a fresh clone (src/transport/http/web-app.ts).
//
// A repeated `npm install` should stay quick: when web/dist is newer than every source it is built from (web/ itself,
// and the SDK's dist/ it bundles) and the dependencies are those it was built with, it is kept.
//
// It steps aside where there is no web app to build: a checkout without web/, and the server's image (Dockerfile:
// `--workspaces=false`, no web/ sources). It builds with vite directly rather than the workspace's `build` script,
// so a type error in the app never fails an install (`npm run build:web` and CI check those).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const web = join(root, "web");
const built = join(web, "dist/index.html");
// npm rewrites package-lock.json on every install, so the installed dependencies are compared by its content.
const stamp = join(root, "node_modules/.cache/parley-web-build.json");
const vite = [join(root, "node_modules/vite/bin/vite.js"), join(web, "node_modules/vite/bin/vite.js")].find((path) => existsSync(path));

if (!existsSync(join(web, "package.json"))) {
  console.log("prepare: no web/ package here: not building the web app");
} else if (!vite) {
  console.log("prepare: vite is not installed (a production-only install?): not building the web app");
} else {
  const lockfile = createHash("sha256").update(readFileSync(join(root, "package-lock.json"))).digest("hex");
  if (upToDate(lockfile)) {
    console.log("prepare: web/dist is up to date");
  } else {
    execFileSync(process.execPath, [vite, "build"], { cwd: web, stdio: "inherit" });
    mkdirSync(dirname(stamp), { recursive: true });
    writeFileSync(stamp, JSON.stringify({ lockfile }));
  }
}

function upToDate(lockfile) {
  if (!existsSync(built) || !existsSync(stamp)) return false;
  if (JSON.parse(readFileSync(stamp, "utf8")).lockfile !== lockfile) return false;
  return Math.max(newestChange(web), newestChange(join(root, "client-sdk/dist"))) < statSync(built).mtimeMs;
}

/** The latest modification time under this folder, leaving out what is not source: dist/, node_modules/, dotfiles. */
function newestChange(path) {
  if (!existsSync(path)) return 0;
  let newest = statSync(path).mtimeMs;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === "dist" || entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const child = join(path, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(child) : statSync(child).mtimeMs);
  }
  return newest;
}
