import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "client-sdk/test/**/*.test.ts", "web/src/**/*.test.ts"],
    pool: "forks",
    // PGlite cold start is 3–5 s and real server processes take a few seconds to boot.
    hookTimeout: 60_000,
    testTimeout: 30_000,
    fileParallelism: true,
    maxWorkers: 2,
    globalSetup: ["test/support/global-setup.ts"],
  },
});
