// prepare (runs after `npm install` / `npm ci` of the repository): builds client-sdk/dist, so `@parley/client` —
// linked into node_modules as a workspace — can be imported on a fresh clone. `npm pack` in client-sdk builds it
// again on its own (prepack); the package itself ships no install script.
//
// The server's image installs without the SDK workspace (Dockerfile: `--workspaces=false`, no client-sdk
// sources, no dev dependencies): there is nothing to build there, so this steps aside.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const build = fileURLToPath(new URL("../client-sdk/build.mjs", import.meta.url));
if (existsSync(build)) execFileSync(process.execPath, [build], { stdio: "inherit" });
else console.log("prepare: no client-sdk sources here (server-only install): not building the SDK");
