import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServer } from "../support/server-process.ts";

/**
 * @parley/client as a user gets it: `npm pack`ed (which builds it), installed from the tarball into fresh projects
 * outside the repository, from the npm registry, with no flags; compiled against the package alone; and run on
 * Node with `ws` against a real server — the README's quick start included, extracted from README.md as written.
 *
 * Two projects, because @trpc/tanstack-react-query pins tRPC exactly (11.22.1 pins @trpc/client and @trpc/server
 * 11.22.1): the Node app uses the newest tRPC (what `npm install @trpc/client` gives a plain app: the top of the SDK's
 * peer range) under a full lib check; the React Query app the version tanstack pins (the bottom of the range, which
 * the repository itself uses), and proves one copy of tRPC.
 */
const ROOT = new URL("../../", import.meta.url).pathname;
const FIXTURES = join(ROOT, "test/package");
const rootPackage = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** The repository's exact version of a package it depends on. */
const repoVersion = (name: string): string => {
  const version = rootPackage.dependencies[name] ?? rootPackage.devDependencies[name];
  if (!version) throw new Error(`${name} is not a dependency of the repository`);
  return version;
};
/** A plain app's tRPC: the newest 11.x. (11.22.1's own declarations do not pass a full lib check next to @types/ws 8.18.) */
const PLAIN_APP_TRPC = "11.25.2";
/** A React Query app's tRPC layer: tanstack's pinned tRPC and its own peers, at exact versions. */
const REACT_QUERY_APP = {
  "@trpc/tanstack-react-query": "11.22.1",
  "@trpc/client": "11.22.1",
  "@trpc/server": "11.22.1",
  "@tanstack/react-query": "5.108.4",
  react: "19.3.1",
};

const work = mkdtempSync(join(tmpdir(), "parley-consumer-"));
let tarball: string;

beforeAll(async () => {
  const packed = await run("npm", ["pack", "--json", "--pack-destination", work], join(ROOT, "client-sdk"));
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as [{ filename: string }];
  tarball = join(work, filename);
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Each test compiles or runs a process; a loaded machine (the whole suite on two cores) gets time for it.
describe("the packed SDK in a Node app (strict, skipLibCheck: false, NodeNext)", { timeout: 60_000 }, () => {
  const app = join(work, "node-app");
  let server: ServerProcess | undefined;
  let diagnostics: Diagnostic[];

  beforeAll(async () => {
    mkdirSync(app);
    for (const file of readdirSync(join(FIXTURES, "consumer"))) copyFileSync(join(FIXTURES, "consumer", file), join(app, file));
    writeFileSync(join(app, "readme.ts"), readmeQuickStart());
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({
        name: "parley-node-app",
        private: true,
        type: "module",
        dependencies: {
          "@parley/client": `file:${tarball}`,
          "@trpc/client": PLAIN_APP_TRPC,
          "@trpc/server": PLAIN_APP_TRPC,
          ws: repoVersion("ws"),
        },
        devDependencies: Object.fromEntries(["typescript", "@types/ws", "@types/node", "bun-types"].map((name) => [name, repoVersion(name)])),
      }),
    );
    const starting = startServer("bun");
    await npmInstall(app);
    diagnostics = await compile(app, "tsconfig.json");
    server = await starting;
  }, 150_000);
  afterAll(() => server?.stop());

  it("ships declarations that import nothing but its peers", () => {
    // Every declaration file the entry points reach (they share a chunk), and every package any of them imports.
    const dist = join(app, "node_modules/@parley/client/dist");
    const packages = new Set<string>();
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const declarations = readFileSync(join(dist, file), "utf8");
      for (const match of declarations.matchAll(/\bfrom\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
        const specifier = (match[1] ?? match[2]) as string;
        if (specifier.startsWith("./")) visit(specifier.slice(2).replace(/\.js$/, ".d.ts"));
        else packages.add(specifier);
      }
    };
    visit("index.d.ts");
    expect(packages).toEqual(new Set(["@trpc/client", "@trpc/server"]));
    visit("tanstack-query.d.ts"); // the optional entry point adds its optional peer, nothing else
    expect(packages).toEqual(new Set(["@trpc/client", "@trpc/server", "@tanstack/query-core"]));
    const manifest = JSON.parse(readFileSync(join(app, "node_modules/@parley/client/package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest).toMatchObject({ type: "module", sideEffects: false, peerDependencies: { "@trpc/client": "^11.22.1", "@trpc/server": "^11.22.1", "@tanstack/query-core": "^5.0.0" } });
    expect(manifest).not.toHaveProperty("dependencies");
  });

  it("compiles a file that uses calls and events, the README's quick start and every kind of WebSocket with no error", () => {
    expect(diagnostics.filter((diagnostic) => diagnostic.file !== "wrong.ts")).toEqual([]);
  });

  it("refuses unknown procedures, wrong inputs and outputs, unknown events and event fields", () => {
    expect(diagnostics.filter((diagnostic) => diagnostic.file === "wrong.ts").map(({ line, code }) => ({ line, code }))).toEqual(expectedErrors(app, "wrong.ts"));
  });

  it("takes Bun's and Deno's own WebSocket without a cast", async () => {
    expect(await compile(app, "tsconfig.bun.json")).toEqual([]);
    const deno = await run(join(ROOT, "node_modules/.bin/deno"), ["check", "deno.ts"], app, { allowFailure: true });
    expect(deno.code, deno.stdout + deno.stderr).toBe(0);
  });

  it("chats between two clients on Node with ws against a real server, then exits", async () => {
    const { stdout } = await run(process.execPath, ["dist/chat.js"], app, { env: { PARLEY_URL: (server as ServerProcess).url }, timeoutMs: 30_000 });
    expect(JSON.parse(stdout.trim())).toEqual({
      typing: true,
      seqs: [2, 3], // after bob's join, seq 1
      delivered: ["alice: hello from a packed SDK", "alice: second"],
      history: [2, 3],
      bobSeesRoom: true,
      me: true,
      states: ["connecting", "open"],
    });
  });

  it.each([
    ["Bun", join(ROOT, "node_modules/.bin/bun"), ["dist/global-websocket.js"]],
    ["Deno", join(ROOT, "node_modules/.bin/deno"), ["run", "-A", "dist/global-websocket.js"]],
  ])("chats on %s with its own fetch and WebSocket", async (_runtime, command, args) => {
    const { stdout } = await run(command, args, app, { env: { PARLEY_URL: (server as ServerProcess).url }, timeoutMs: 30_000 });
    expect(JSON.parse(stdout.trim().split("\n").at(-1) as string)).toEqual({ body: "from the runtime's own WebSocket", seq: 2, acknowledged: 2 }); // after bob's join
  });

  it("runs the README's quick start as written, twice on the same data", async () => {
    for (let round = 0; round < 2; round++) {
      const { stdout } = await run(process.execPath, ["dist/readme.js"], app, { env: { PARLEY_URL: (server as ServerProcess).url }, timeoutMs: 30_000 });
      expect(stdout).toMatch(/^alice sent message #2 in "general [a-z0-9]+"$/m); // #1 is bob's join
      expect(stdout).toMatch(/^bob got "hello, bob" from alice-[a-z0-9]+$/m);
      expect(stdout).toMatch(/^alice got "hi alice!" from bob$/m);
    }
  });
});

describe("the packed SDK next to @trpc/tanstack-react-query", { timeout: 60_000 }, () => {
  const app = join(work, "react-query-app");

  beforeAll(async () => {
    mkdirSync(app);
    for (const file of readdirSync(join(FIXTURES, "react-query-app"))) copyFileSync(join(FIXTURES, "react-query-app", file), join(app, file));
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({
        name: "parley-react-query-app",
        private: true,
        type: "module",
        dependencies: { "@parley/client": `file:${tarball}`, ...REACT_QUERY_APP },
        devDependencies: { typescript: repoVersion("typescript"), "@types/react": "19.3.3" },
      }),
    );
    // No --legacy-peer-deps, no --force: an ERESOLVE fails this hook.
    await npmInstall(app);
  }, 120_000);

  it("installs with one copy of @trpc/client and of @trpc/server", () => {
    const copies = (readdirSync(join(app, "node_modules"), { recursive: true }) as string[])
      .filter((path) => /(^|\/)@trpc\/(client|server)\/package\.json$/.test(path))
      .sort();
    expect(copies).toEqual(["@trpc/client/package.json", "@trpc/server/package.json"]);
  });

  it("hands parley.api to TRPCProvider and createTRPCOptionsProxy as it is, and refuses wrong uses", async () => {
    const diagnostics = await compile(app, "tsconfig.json");
    expect(diagnostics.map(({ file, line, code }) => ({ file, line, code }))).toEqual(
      expectedErrors(app, "app.ts").map((expected) => ({ file: "app.ts", ...expected })),
    );
  });
});

interface Diagnostic {
  file: string;
  line: number;
  code: string;
  message: string;
}

/** Runs tsc from the app's own node_modules; resolves with its diagnostics (an empty list when it compiled). */
async function compile(app: string, tsconfig: string): Promise<Diagnostic[]> {
  const { stdout, stderr } = await run(process.execPath, [join(app, "node_modules/typescript/bin/tsc"), "-p", tsconfig], app, { allowFailure: true });
  const diagnostics: Diagnostic[] = [];
  for (const line of stdout.split("\n")) {
    const match = /^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
    if (match) diagnostics.push({ file: match[1] as string, line: Number(match[2]), code: match[3] as string, message: match[4] as string });
    else if (line.trim() && !line.startsWith(" ")) throw new Error(`unexpected tsc output: ${line}\n${stdout}${stderr}`);
  }
  return diagnostics;
}

/** The `// error TSnnnn` markers of a fixture: one expected error per marked line. */
function expectedErrors(app: string, file: string): { line: number; code: string }[] {
  return readFileSync(join(app, file), "utf8")
    .split("\n")
    .flatMap((text, index) => {
      const code = /\/\/ error (TS\d+)$/.exec(text)?.[1];
      return code ? [{ line: index + 1, code }] : [];
    });
}

/** The first ```ts block under the README's "Two clients chatting" heading, verbatim. */
function readmeQuickStart(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Two clients chatting"));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no ```ts block under "### Two clients chatting"');
  return block;
}

/**
 * From the registry, as a user would: the npm cache is used without revalidation when it has the versions
 * (`--prefer-offline`), so a warm machine installs in seconds.
 */
async function npmInstall(app: string): Promise<void> {
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], app, { timeoutMs: 110_000 });
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: string[],
  cwd: string,
  options: { env?: Record<string, string>; timeoutMs?: number; allowFailure?: boolean } = {},
): Promise<RunResult> {
  // npm passes its configuration to scripts as npm_* variables (`npm test` runs this file): a child npm must read
  // its own project's, not the repository's.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith("npm_")));
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: { ...env, ...options.env }, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      if (code !== 0 && !options.allowFailure) {
        reject(new Error(`${command} ${args.join(" ")} (in ${cwd}) failed with ${String(error?.code ?? error?.signal)}:\n${stdout}\n${stderr}`));
      } else {
        resolve({ code, stdout, stderr });
      }
    });
  });
}
