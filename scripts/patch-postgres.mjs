// postinstall: guards postgres.js 3.4.9 against a known process-killing bug until upstream ships the fix.
//
// When a connection dies mid-transaction, postgres.js rejects the in-flight query and then writes the
// transaction's ROLLBACK. `closed()` has already nulled the socket, so the deferred flush (`nextWrite`, run from
// setImmediate) dereferences null and throws outside every promise: an uncaughtException that exits the process
// (porsager/postgres#1208, #1154; fixes proposed in PRs #1168, #1209). `closed()` also leaves a cleared timer id
// in `nextWriteTimer`, which stops every later write on the replacement socket (the "wedge" in #1215).
//
// A sibling: once a new connection is ready, postgres.js fetches the array types with `return fetchArrayTypes()` from
// a synchronous message handler, so nobody holds that async function's promise. When Postgres dies during the
// fetch (a restart loop: test/faults/postgres-outage.test.ts on Bun), the promise rejects unhandled with the socket's
// error (read ECONNRESET, connect ECONNREFUSED) and the runtime exits the process.
//
// The patch: a flush with no socket fails the connection's waiting queries (CONNECTION_CLOSED) instead of
// throwing; closing resets the pending-write state; a failed type fetch goes to the connection's error handler,
// which fails the query that was waiting for the connection (already failed, and a no-op, when the socket died; the
// next connection fetches the types again). Applied to the ESM and CJS builds; each edit is
// idempotent, so an install patched by an earlier version of this script gets the newer edits; refuses (exit 1)
// when the installed source is not the one this patch was written for, so an upgrade forces a look.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const MARK = "/* parley: nextWrite guard */";
const require = createRequire(import.meta.url);
let root;
try {
  // The package exports neither its package.json nor its folder: find the folder above the resolved entry point
  // (its cjs/ subfolder has a package.json of its own, without a version).
  root = dirname(require.resolve("postgres"));
  while (JSON.parse(existsSync(join(root, "package.json")) ? readFileSync(join(root, "package.json"), "utf8") : "{}").name !== "postgres") {
    if (dirname(root) === root) throw new Error("postgres package folder not found");
    root = dirname(root);
  }
} catch {
  process.exit(0); // not installed (e.g. a partial install): nothing to patch
}
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

const edits = [
  {
    from: "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)",
    to:
      `  function nextWrite(fn) {\n    ${MARK}\n    if (!socket) {\n      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n` +
      "      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n" +
      "    const x = socket.write(chunk, fn)",
  },
  {
    from: "    incomings = null\n    clearImmediate(nextWriteTimer)\n",
    to: "    incomings = null\n    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n",
  },
  {
    from: "    clearImmediate(nextWriteTimer)\n    if (socket) {",
    to: "    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    if (socket) {",
  },
  {
    from: "        return fetchArrayTypes()\n",
    to: "        return fetchArrayTypes().catch(error) /* parley: unhandled type fetch guard */\n",
  },
];

for (const file of ["src/connection.js", "cjs/src/connection.js"]) {
  const path = join(root, file);
  let source = readFileSync(path, "utf8");
  const missing = edits.filter(({ to }) => !source.includes(to));
  if (missing.length === 0) continue;
  if (version !== "3.4.9") {
    console.error(`patch-postgres: written for postgres 3.4.9, found ${version}: check whether upstream fixed #1208, then update or drop scripts/patch-postgres.mjs`);
    process.exit(1);
  }
  for (const { from, to } of missing) {
    if (!source.includes(from)) {
      console.error(`patch-postgres: ${file} does not contain the expected code; not patching`);
      process.exit(1);
    }
    source = source.replace(from, to);
  }
  writeFileSync(path, source);
  console.log(`patch-postgres: ${missing.length} guard(s) applied to ${file}`);
}
