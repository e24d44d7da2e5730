// prepare (runs after `npm install` / `npm ci` of the repository): builds client-sdk/dist, so `@parley/client` —
// linked into node_modules as a workspace — can be imported on a fresh clone. `npm pack` in client-sdk builds it
// again on its own (prepack, always); the package itself ships no install script.
//
// A repeated `npm install` should stay quick: when dist/ is newer than every source it is built from (the SDK, the
// server source behind the contract, the configs) and the dependencies are those it was built with, it is kept.
//
// The server's image installs without the SDK workspace (Dockerfile: `--workspaces=false`, no client-sdk
// sources, no dev dependencies): there is nothing to build there, so this steps aside.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const build = join(root, "client-sdk/build.mjs");
const built = join(root, "client-sdk/dist/index.d.ts");
const sources = ["client-sdk/src", "client-sdk/build.mjs", "client-sdk/package.json", "client-sdk/tsconfig.json", "client-sdk/tsconfig.build.json", "src", "tsconfig.json", "tsconfig.contract.json"];
// npm rewrites package-lock.json on every install, so the installed dependencies (tRPC, TypeScript, zod shape the
// emitted types) are compared by the lockfile's content, recorded here after each build.
const stamp = join(root, "node_modules/.cache/parley-client-build.json");
const lockfile = createHash("sha256").update(readFileSync(join(root, "package-lock.json"))).digest("hex");

if (!existsSync(build)) {
  console.log("prepare: no client-sdk sources here (server-only install): not building the SDK");
} else if (upToDate()) {
  console.log("prepare: client-sdk/dist is up to date");
} else {
  execFileSync(process.execPath, [build], { stdio: "inherit" });
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, JSON.stringify({ lockfile }));
}

function upToDate() {
  if (!existsSync(built) || !existsSync(stamp)) return false;
  if (JSON.parse(readFileSync(stamp, "utf8")).lockfile !== lockfile) return false;
  return newestChange(sources.map((path) => join(root, path))) < statSync(built).mtimeMs;
}

/** The latest modification time among these files and everything under these folders. */
function newestChange(paths) {
  let newest = 0;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    newest = Math.max(newest, stat.mtimeMs);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
        if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
      }
    }
  }
  return newest;
}
