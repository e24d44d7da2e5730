import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestMeta } from "../../src/domain/auth/auth.schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { uniqueUsername } from "../support/factories.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";

const META: RequestMeta = { ip: "203.0.113.9", userAgent: "vitest" };
const TRIALS = 50;

/** What one trial of `parallel` simultaneous refreshes with one token gave: how many won, and how the rest were refused. */
interface Trial {
  trial: number;
  winners: number;
  refusals: string[];
}

/**
 * Two tabs (or ten) refreshing with the same cookie at the same moment: one rotation must win, and every loser must
 * be told CONFLICT (retry with the successor the winner put in the jar), never UNAUTHORIZED, which makes a client sign
 * its user out. Each trial uses the previous trial's winning token, so the family lives through all of them.
 */
describe.each(databaseKinds)("racing refreshes on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  it.each([2, 10])(
    "gives exactly one of %i parallel refreshes with one token a rotation and CONFLICT to all others, in 50 trials",
    async (parallel) => {
      const username = uniqueUsername("race");
      const auth = deps.services.auth;
      const signedUp = await auth.register(
        { email: `${username}@example.test`, username, password: "a long enough passphrase", refreshTokenIn: "body" },
        META,
      );
      let token = signedUp.refreshToken;
      const trials: Trial[] = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        const results = await Promise.allSettled(Array.from({ length: parallel }, () => auth.refresh(token, META)));
        const winners = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
        const refusals = results.flatMap((result) =>
          result.status === "rejected" ? [String((result.reason as { code?: unknown }).code ?? result.reason)] : [],
        );
        trials.push({ trial, winners: winners.length, refusals });
        if (winners.length !== 1) break;
        token = winners[0]!.refreshToken;
      }
      const wrong = trials.filter((t) => t.winners !== 1 || t.refusals.some((code) => code !== "CONFLICT"));
      expect(wrong).toEqual([]);
      expect(trials).toHaveLength(TRIALS);
      // The family survived all of it: the last winner's token still rotates.
      await expect(auth.refresh(token, META)).resolves.toMatchObject({ user: { id: signedUp.user.id } });
    },
    60_000,
  );
});
