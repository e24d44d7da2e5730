// Builds @parley/client into dist/: ESM JavaScript (one file per module, as tsc emits it) and a single declaration
// file, dist/index.d.ts, that carries the whole contract — AppRouter, ServerEvent, ClientFrame, every input and
// output — and imports nothing but the package's peer dependencies. Run by `npm install` in the repository
// (the root `prepare` script, scripts/prepare-sdk.mjs) and by `npm pack` / `npm publish` here (`prepack`).
//
// The declarations are bundled with rollup-plugin-dts from what tsc emits: the SDK's own (staged beside dist/) and the
// server's contract (../.types, from tsconfig.contract.json), whose emitted contract.d.ts already names nothing
// of the server but a few plain interfaces (see src/contract.ts). The bundle then fails the build if it, or the
// JavaScript, imports anything else: a server type leaking into the contract is caught here, not by a user.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { rollup } from "rollup";
import { dts } from "rollup-plugin-dts";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const dist = join(here, "dist");
// Everything is built beside dist/ and swapped in whole at the end: a test or a dev server reading the package
// while it is rebuilt (a test runs `npm pack`, which runs this) sees the old build or the new one, never half.
// (Staged beside dist/, not below it: tsc refuses to rewrite `../../src/contract.ts` for an output at another depth.)
const stagedDist = join(here, `.dist-${process.pid}`);
const sdkDeclarations = join(here, `.dts-${process.pid}`);
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const { peerDependencies } = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
const allowed = Object.keys(peerDependencies);

/** `@trpc/server` and its subpaths (`@trpc/server/observable`): the peers, nothing else. */
const isPeer = (specifier) => allowed.some((name) => specifier === name || specifier.startsWith(`${name}/`));

try {
  execFileSync(process.execPath, [tsc, "-b", join(root, "tsconfig.contract.json")], { stdio: "inherit" });
  execFileSync(
    process.execPath,
    [tsc, "-p", join(here, "tsconfig.build.json"), "--outDir", stagedDist, "--declarationDir", sdkDeclarations],
    { stdio: "inherit" },
  );

  const bundle = await rollup({
    input: join(sdkDeclarations, "index.d.ts"),
    external: isPeer,
    plugins: [emittedDeclarations(), dts()],
    onwarn(warning) {
      throw new Error(`declaration bundle: ${warning.message}`);
    },
  });
  await bundle.write({ file: join(stagedDist, "index.d.ts"), format: "es" });
  await bundle.close();

  const leaks = [join(stagedDist, "index.d.ts"), ...javascriptFiles(stagedDist)].flatMap((file) =>
    importsOf(readFileSync(file, "utf8"))
      .filter((specifier) => !isPeer(specifier) && !(file.endsWith(".js") && /^\.\.?\//.test(specifier)))
      .map((specifier) => `${relative(stagedDist, file)} imports ${specifier}`),
  );
  if (leaks.length > 0) {
    throw new Error(`@parley/client must import only its peers (${allowed.join(", ")}):\n  ${leaks.join("\n  ")}`);
  }

  const previous = join(here, `.dist-${process.pid}-previous`);
  if (existsSync(dist)) renameSync(dist, previous);
  renameSync(stagedDist, dist);
  rmSync(previous, { recursive: true, force: true });
} finally {
  rmSync(stagedDist, { recursive: true, force: true });
  rmSync(sdkDeclarations, { recursive: true, force: true });
}

/**
 * The per-file declarations keep their source's import specifiers (`../../src/contract.ts`, `./rpc.ts`): point
 * each at the declaration tsc emitted for it — the server's under ../.types, the SDK's beside the importer.
 */
function emittedDeclarations() {
  return {
    name: "emitted-declarations",
    resolveId(source, importer) {
      if (!importer || !source.startsWith(".") || !/\.(ts|js)$/.test(source) || source.endsWith(".d.ts")) return null;
      let target = resolve(dirname(importer), source);
      const serverSource = relative(join(root, "src"), target);
      if (!serverSource.startsWith("..")) target = join(root, ".types", serverSource);
      return target.replace(/\.(ts|js)$/, ".d.ts");
    },
  };
}

function javascriptFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".js"))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Module specifiers of static imports, re-exports, dynamic imports and `import("…")` types. */
function importsOf(code) {
  const specifiers = [];
  for (const match of code.matchAll(/\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm)) {
    specifiers.push(match[1] ?? match[2] ?? match[3]);
  }
  return specifiers;
}
