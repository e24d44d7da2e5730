import { DrizzleQueryError } from "drizzle-orm/errors";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/lib/logger.ts";

/** A logger writing into memory; `lines()` parses what it wrote so far. */
function capture(): { lines(): Record<string, unknown>[]; raw: string[]; logger: ReturnType<typeof createLogger> } {
  const raw: string[] = [];
  const logger = createLogger({ level: "debug", write: (line) => raw.push(line) });
  return { raw, logger, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe("the logger", () => {
  it("never throws: BigInts become strings, cycles are marked, throwing getters are reported", () => {
    const { logger, lines } = capture();
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    const hostile = Object.defineProperty({}, "boom", {
      enumerable: true,
      get() {
        throw new Error("getter exploded");
      },
    });
    expect(() => logger.info("odd fields", { big: 10n ** 20n, cyclic, hostile, sym: Symbol("s"), fn: function named() {} })).not.toThrow();
    expect(lines()[0]).toMatchObject({
      msg: "odd fields",
      big: "100000000000000000000",
      cyclic: { name: "loop", self: "[Circular]" },
      hostile: { boom: "[unreadable: getter exploded]" },
      sym: "Symbol(s)",
      fn: "[function named]",
    });
  });

  it("serialises errors with name, message, stack and their cause chain, also nested inside fields", () => {
    const { logger, lines } = capture();
    const root = Object.assign(new Error("connection reset"), { code: "ECONNRESET" });
    const outer = new Error("could not commit", { cause: new TypeError("wrapped", { cause: root }) });
    logger.error("failed", { error: outer, context: { attempt: { error: root } } });
    const [line] = lines();
    expect(line?.error).toMatchObject({
      name: "Error",
      message: "could not commit",
      stack: expect.stringContaining("could not commit"),
      cause: { name: "TypeError", message: "wrapped", cause: { message: "connection reset", code: "ECONNRESET" } },
    });
    expect(line?.context).toMatchObject({ attempt: { error: { message: "connection reset", code: "ECONNRESET" } } });
  });

  it("keeps emails, passwords, tokens, message bodies and query parameters out of every line", () => {
    const { logger, raw } = capture();
    const failedQuery = new DrizzleQueryError(
      'insert into "users" ("email", "password_hash") values ($1, $2)',
      ["victim@example.com", "$argon2id$secret"],
      Object.assign(new Error('duplicate key value violates unique constraint "users_email_unique"'), {
        code: "23505",
        detail: "Key (email)=(victim@example.com) already exists.",
      }),
    );
    logger.error("register failed", {
      error: failedQuery,
      email: "victim@example.com",
      input: { login: "victim", password: "hunter22" },
      nested: { refreshToken: "rt-123", accessToken: "at-456", ticket: "tk-789", body: "a private message" },
    });
    const text = raw.join("\n");
    for (const secret of ["victim@example.com", "$argon2id$secret", "hunter22", "rt-123", "at-456", "tk-789", "a private message"]) {
      expect(text).not.toContain(secret);
    }
    // What an operator needs is still there: the statement, the constraint and the code.
    expect(text).toContain('insert into \\"users\\"');
    expect(text).toContain("users_email_unique");
    expect(text).toContain("23505");
  });

  it("puts a scope's fields (the request id) on every line logged inside it, by any child logger, across awaits", async () => {
    const { logger, lines } = capture();
    const service = logger.child({ service: "rooms" });
    await logger.scope({ requestId: "req-1" }, async () => {
      logger.info("start");
      await new Promise((resolve) => setTimeout(resolve, 5));
      service.warn("deep in a service");
      await Promise.all([1, 2].map(async (n) => service.info("parallel", { n })));
    });
    logger.info("outside");
    expect(lines().map((line) => [line.msg, line.requestId])).toEqual([
      ["start", "req-1"],
      ["deep in a service", "req-1"],
      ["parallel", "req-1"],
      ["parallel", "req-1"],
      ["outside", undefined],
    ]);
    expect(lines()[1]).toMatchObject({ service: "rooms" });
  });

  it("does not throw when the output itself fails", () => {
    const logger = createLogger({
      level: "info",
      write: () => {
        throw new Error("EPIPE");
      },
    });
    expect(() => logger.error("nobody hears this")).not.toThrow();
  });
});
