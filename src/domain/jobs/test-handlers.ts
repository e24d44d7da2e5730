import type { JobHandlers } from "./handlers.ts";

/**
 * Handlers only test servers run (JOBS_TEST_HANDLERS=1, refused outside NODE_ENV=test): "test.sleep" holds its claim
 * for a while, so a fault spec can kill the instance holding it and watch another finish it.
 */
export const testJobHandlers: JobHandlers = {
  "test.sleep": ({ ms }) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 60_000))),
};
