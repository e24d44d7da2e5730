// Builds @parley/client into dist/: ESM JavaScript (one file per module, as tsc emits it) and a declaration file
// per entry point, dist/index.d.ts (and dist/tanstack-query.d.ts, sharing a chunk with it), that carries the whole contract — AppRouter, ServerEvent, ClientFrame, every input and
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

/** The package's entry points (its `exports`, each with its declaration file). */
const ENTRIES = ["index", "tanstack-query"];

/** `@trpc/server` and its subpaths (`@trpc/server/observable`): the peers, nothing else. */
const isPeer = (specifier) => allowed.some((name) => specifier === name || specifier.startsWith(`${name}/`));

try {
  execFileSync(process.execPath, [tsc, "-b", join(root, "tsconfig.contract.json")], { stdio: "inherit" });
  execFileSync(
    process.execPath,
    [tsc, "-p", join(here, "tsconfig.build.json"), "--outDir", stagedDist, "--declarationDir", sdkDeclarations],
    { stdio: "inherit" },
  );

  // One declaration file per entry point (the package's `exports`); what both use goes into one shared chunk,
  // so a type the two entries share is one declaration, not two look-alikes.
  const bundle = await rollup({
    input: Object.fromEntries(ENTRIES.map((entry) => [entry, join(sdkDeclarations, `${entry}.d.ts`)])),
    external: isPeer,
    plugins: [emittedDeclarations(), dts()],
    onwarn(warning) {
      throw new Error(`declaration bundle: ${warning.message}`);
    },
  });
  const { output } = await bundle.write({ dir: stagedDist, format: "es", entryFileNames: "[name].d.ts", chunkFileNames: "[name]-[hash].d.ts" });
  await bundle.close();
  const declarations = output.map((chunk) => join(stagedDist, chunk.fileName));

  // Relative imports are fine between the package's own files (the JavaScript modules, the declaration chunks).
  const leaks = [...declarations, ...javascriptFiles(stagedDist)].flatMap((file) =>
    importsOf(readFileSync(file, "utf8"))
      .filter((specifier) => !isPeer(specifier) && !(/^\.\.?\//.test(specifier) && existsSync(resolveImport(file, specifier))))
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

/** The file a relative specifier in `file` names (a declaration chunk's `./x.js` is its `./x.d.ts`). */
function resolveImport(file, specifier) {
  const target = resolve(dirname(file), specifier);
  return file.endsWith(".d.ts") && target.endsWith(".js") && !existsSync(target) ? target.replace(/\.js$/, ".d.ts") : target;
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
