import { createMemoryRateLimiter } from "../../src/infra/rate-limit/memory.ts";
import { testRateLimiter } from "./rate-limiter.contract.ts";

testRateLimiter("memory", {
  createLimiter: async (clock) => createMemoryRateLimiter({ clock }),
  time: "injected",
});
