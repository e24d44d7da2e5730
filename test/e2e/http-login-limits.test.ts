import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueUsername } from "../support/factories.ts";
import { createHttpProbe, type HttpProbe, type ProbeAnswer, type SignedUp, signUp } from "../support/http-probe.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";

const PASSWORD = "correct horse battery staple"; // what signUp registers with
const IP_HEADER = "x-test-client-ip";

/**
 * Failed logins against a real Bun server, with the client address taken from a trusted proxy header so one test
 * can speak from several addresses. An attacker guessing from one address is stopped by the per-(account, address)
 * limit long before the per-account one, so the owner, from anywhere else, still signs in.
 */
describe("failed-login limits over HTTP (Bun)", () => {
  let server: ServerProcess;
  let probe: HttpProbe;

  beforeAll(async () => {
    server = await startServer("bun", {
      CLIENT_IP_HEADER: IP_HEADER,
      RATE_LIMIT_AUTH_PER_IP: "1000/60",
      RATE_LIMIT_AUTH_PER_ACCOUNT_IP: "5/900",
      RATE_LIMIT_AUTH_PER_ACCOUNT: "30/900",
    });
    probe = createHttpProbe(server.url);
  });
  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  const login = (name: string, password: string, ip: string): Promise<ProbeAnswer> =>
    probe.mutate("auth.login", { login: name, password, refreshTokenIn: "body" }, { headers: { [IP_HEADER]: ip } });
  const outcome = (answer: ProbeAnswer): string => `${answer.status} ${answer.errorCode ?? ""}`.trim();

  it("stops an attacker's guesses from one address (email and username alike) and still lets the owner in from another", async () => {
    const owner: SignedUp = await signUp(probe, uniqueUsername("owner"));
    const email = `${owner.user.username}@example.test`;
    const answers: string[] = [];
    for (let i = 0; i < 40; i++) {
      answers.push(outcome(await login(i % 2 === 0 ? email : owner.user.username.toUpperCase(), `guess ${i}`, "198.51.100.13")));
    }
    expect(answers).toEqual([...Array(5).fill("401 UNAUTHORIZED"), ...Array(35).fill("429 TOO_MANY_REQUESTS")]);
    expect(outcome(await login(owner.user.username, PASSWORD, "198.51.100.13"))).toBe("429 TOO_MANY_REQUESTS");

    for (const ip of ["203.0.113.50", "2001:db8::50"]) {
      expect(outcome(await login(owner.user.username, PASSWORD, ip))).toBe("200");
      expect(outcome(await login(email, PASSWORD, ip))).toBe("200");
    }
  });

  it("lets the owner sign in more often than the failure allowances without spending them", async () => {
    const owner: SignedUp = await signUp(probe, uniqueUsername("frequent"));
    const answers: string[] = [];
    for (let i = 0; i < 32; i++) answers.push(outcome(await login(owner.user.username, PASSWORD, "203.0.113.51")));
    for (let i = 0; i < 4; i++) answers.push(outcome(await login(owner.user.username, "a typo", "203.0.113.51")));
    answers.push(outcome(await login(owner.user.username, PASSWORD, "203.0.113.51")));
    expect(answers).toEqual([...Array(32).fill("200"), ...Array(4).fill("401 UNAUTHORIZED"), "200"]);
  });
});
