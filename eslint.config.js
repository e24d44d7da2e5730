import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "client-sdk/dist/", "client-sdk/.dist-*/", "client-sdk/.dts-*/", ".types/", "examples/*/main.js", "examples/*/dist/", "web/dist/", "**/*.tsbuildinfo", ".data/", "drizzle/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: "readonly", process: "readonly", URL: "readonly" } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "error",
    },
  },
  {
    // One composition root: only deps.ts, infra/ and runtime/ may import concrete adapters.
    files: ["src/**/*.ts"],
    ignores: ["src/deps.ts", "src/infra/**", "src/runtime/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          // Exact package names go in `paths`: as a gitignore-style pattern "ws" would also match "hono/ws".
          paths: ["ioredis", "postgres", "bun", "ws"].map((name) => ({ name, message: "adapters are chosen in src/deps.ts or src/runtime/*" })),
          patterns: [
            { group: ["@electric-sql/*", "@aws-sdk/*", "hono/bun", "hono/deno", "@hono/node-server", "@hono/node-server/*"], message: "adapters are chosen in src/deps.ts or src/runtime/*" },
            { group: ["**/infra/*/memory.ts", "**/infra/*/redis.ts", "**/infra/*/sql.ts", "**/infra/db/pglite.ts", "**/infra/db/postgres.ts"], message: "depend on the port, not the implementation" },
          ],
        },
      ],
      "no-restricted-globals": ["error", { name: "Bun", message: "only src/runtime/* may touch the runtime" }, { name: "Deno", message: "only src/runtime/* may touch the runtime" }],
      "no-restricted-properties": ["error", { object: "process", property: "env", message: "config is parsed once, in src/config.ts via runtime/*" }],
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts", "client-sdk/test/**/*.ts", "scripts/**/*.mjs"],
    rules: { "no-console": "off" },
  },
);
