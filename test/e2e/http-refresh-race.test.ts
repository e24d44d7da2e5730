import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresTestDatabase, databaseKinds } from "../support/databases.ts";
import { uniqueUsername } from "../support/factories.ts";
import { createHttpProbe, type HttpProbe, resultOf, type SignedUp, signUp } from "../support/http-probe.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";

const TRIALS = 50;

/**
 * The racing-tabs promise of the README over the wire: a Bun server on the embedded database and on Postgres gets
 * 2 (and 10) simultaneous `auth.refresh` calls with one refresh token, 50 times. One wins; the rest answer 409
 * CONFLICT, never 401 (which tells a client its user is signed out).
 */
describe.each(databaseKinds)("racing refreshes over HTTP on %s", (kind) => {
  let server: ServerProcess;
  let probe: HttpProbe;
  let dropDatabase: (() => Promise<void>) | null = null;

  beforeAll(async () => {
    let env: Record<string, string> = {};
    if (kind === "postgres") {
      const database = await createPostgresTestDatabase();
      dropDatabase = database.drop;
      env = { DATABASE_URL: database.url };
    }
    server = await startServer("bun", env);
    probe = createHttpProbe(server.url);
  });
  afterAll(async () => {
    const code = await server?.stop();
    await dropDatabase?.();
    expect(code, server?.output()).toBe(0);
  });

  it.each([2, 10])(
    "answers exactly one of %i simultaneous refreshes with a rotation and 409 CONFLICT to all others, in 50 trials",
    async (parallel) => {
      const signedUp = await signUp(probe, uniqueUsername("httprace"));
      let token = signedUp.refreshToken;
      const wrong: { trial: number; answers: string[] }[] = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        const answers = await Promise.all(
          Array.from({ length: parallel }, () => probe.mutate("auth.refresh", { refreshToken: token, refreshTokenIn: "body" })),
        );
        const winners = answers.filter((answer) => answer.status === 200);
        const losers = answers.filter((answer) => answer.status !== 200);
        if (winners.length !== 1 || losers.some((answer) => answer.status !== 409 || answer.errorCode !== "CONFLICT")) {
          wrong.push({ trial, answers: answers.map((answer) => `${answer.status} ${answer.errorCode ?? ""}`) });
          break;
        }
        token = resultOf<SignedUp>(winners[0]!).refreshToken;
      }
      expect(wrong).toEqual([]);
      const last = await probe.mutate("auth.refresh", { refreshToken: token, refreshTokenIn: "body" });
      expect(last.status, last.text).toBe(200);
    },
    60_000,
  );
});
