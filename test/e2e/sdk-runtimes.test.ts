import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServer } from "../support/server-process.ts";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const SCRIPT = "test/e2e/fixtures/sdk-chat.ts";

/** The SDK is web-standard: the same source runs on Bun and Deno with their own fetch and WebSocket. */
describe("the client SDK in other runtimes", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer("bun");
  });
  afterAll(() => server?.stop());

  const runtimes: [string, string[]][] = [
    ["Bun", [join(ROOT, "node_modules/.bin/bun"), SCRIPT]],
    ["Deno", [join(ROOT, "node_modules/.bin/deno"), "run", "-A", SCRIPT]],
  ];

  it.each(runtimes)("chats through a server from %s", async (_name, [command, ...args]) => {
    const { stdout } = await run(command as string, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PARLEY_URL: server.url },
      timeout: 30_000,
    });
    expect(JSON.parse(stdout.trim().split("\n").at(-1) as string)).toEqual({ bodies: ["one", "two", "three"], seqs: [2, 3, 4] }); // after bob's join, seq 1
  });
});
