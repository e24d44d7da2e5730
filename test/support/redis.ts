import { inject } from "vitest";
import { uniqueName } from "./databases.ts";

/** The machine's Redis URL, or null when unreachable (suites then skip; under CI=true the run fails instead). */
export function testRedisUrl(): string | null {
  return inject("redisUrl");
}

/** A key/channel prefix no other test (or run) uses. */
export function uniqueRedisPrefix(): string {
  return `${uniqueName("parleytest")}:`;
}
