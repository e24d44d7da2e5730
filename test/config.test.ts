import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config.ts";
import { startServer } from "./support/server-process.ts";

const SECRET = "a-production-secret-of-at-least-32-chars";
const PG = "postgres://parley@db.internal:5432/parley";

/** Parses `env`, expecting a ConfigError; returns it. */
function refused(env: Record<string, string | undefined>): ConfigError {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe("parseConfig", () => {
  it("runs with no configuration at all: embedded PGlite under ./.data, the in-process bus, port 3000", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      env: "development",
      port: 3000,
      host: "0.0.0.0",
      dataDir: "./.data",
      database: { kind: "pglite", dataDir: "./.data/pglite" },
      redis: null,
      cookieSecure: false,
      clientIpHeader: null,
      logLevel: "info",
      drainMs: 10_000,
      httpOversizeDrainBytes: 8 * 1024 * 1024,
      resumeMaxMessages: 1000,
      auth: { jwtSecret: null, issuer: "parley", audience: "parley-api", accessTokenTtlSeconds: 900 },
      rateLimits: { sendPerUser: { capacity: 30, periodSeconds: 10 } },
    });
    expect(config.allowedOrigins).toContain("http://localhost:3000");
    expect(config.instanceId).toMatch(/^[0-9a-f-]{8}$/);
  });

  it("writes emails as .eml files unless SMTP_URL is set; links start at PUBLIC_URL (default localhost:PORT)", () => {
    expect(parseConfig({ PORT: "4000" }).mail).toEqual({
      smtpUrl: null,
      from: "Parley <parley@localhost>",
      publicUrl: "http://localhost:4000",
      requireVerifiedEmail: false,
    });
    expect(
      parseConfig({
        SMTP_URL: "smtps://user:pass@smtp.example.com:465",
        MAIL_FROM: "Chat <no-reply@example.com>",
        PUBLIC_URL: "https://chat.example.com/",
        REQUIRE_VERIFIED_EMAIL: "true",
      }).mail,
    ).toEqual({
      smtpUrl: "smtps://user:pass@smtp.example.com:465",
      from: "Chat <no-reply@example.com>",
      publicUrl: "https://chat.example.com",
      requireVerifiedEmail: true,
    });
    for (const env of [{ SMTP_URL: "http://smtp.example.com" }, { PUBLIC_URL: "javascript:alert(1)" }, { REQUIRE_VERIFIED_EMAIL: "yes" }]) {
      expect(() => parseConfig(env), JSON.stringify(env)).toThrow(ConfigError);
    }
  });

  it("keeps the embedded database under DATA_DIR, or in memory with DATABASE_URL=memory", () => {
    expect(parseConfig({ DATA_DIR: "/var/lib/parley" }).database).toEqual({ kind: "pglite", dataDir: "/var/lib/parley/pglite" });
    expect(parseConfig({ DATABASE_URL: "memory" }).database).toEqual({ kind: "pglite-memory" });
  });

  it("uses Postgres for a postgres:// or postgresql:// URL, with the pool size given", () => {
    const url = "postgres://parley:secret@db.internal:5432/parley";
    expect(parseConfig({ DATABASE_URL: url }).database).toEqual({ kind: "postgres", url, poolSize: 10 });
    expect(parseConfig({ DATABASE_URL: "postgresql://db/parley", DATABASE_POOL_SIZE: "25" }).database).toEqual({
      kind: "postgres",
      url: "postgresql://db/parley",
      poolSize: 25,
    });
  });

  it("uses Redis for a redis:// or rediss:// URL, namespaced by REDIS_PREFIX", () => {
    expect(parseConfig({ REDIS_URL: "redis://127.0.0.1:6379" }).redis).toEqual({ url: "redis://127.0.0.1:6379", prefix: "parley:" });
    expect(parseConfig({ REDIS_URL: "rediss://cache.internal:6380", REDIS_PREFIX: "staging:" }).redis).toEqual({
      url: "rediss://cache.internal:6380",
      prefix: "staging:",
    });
  });

  it("reads origins as a trimmed comma-separated list and rate limits as capacity/period", () => {
    const config = parseConfig({
      ALLOWED_ORIGINS: " https://chat.example , http://localhost:5173,",
      RATE_LIMIT_AUTH_PER_IP: "5/60",
      COOKIE_SECURE: "true",
      PORT: "8080",
    });
    expect(config.allowedOrigins).toEqual(["https://chat.example", "http://localhost:5173"]);
    expect(config.rateLimits.authPerIp).toEqual({ capacity: 5, periodSeconds: 60 });
    expect(config.cookieSecure).toBe(true);
    expect(config.port).toBe(8080);
  });

  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["PORT", "80.5"],
    ["DATABASE_URL", "mysql://db/parley"],
    ["DATABASE_URL", "postgres:/missing-slash"],
    ["DATABASE_POOL_SIZE", "0"],
    ["REDIS_URL", "http://cache:6379"],
    ["REDIS_PREFIX", "has spaces"],
    ["JWT_SECRET", "too-short"],
    ["ALLOWED_ORIGINS", "https://chat.example/app"],
    ["ALLOWED_ORIGINS", "https://chat.example/"],
    ["ALLOWED_ORIGINS", "https://ok.example,chat.example"],
    ["ALLOWED_ORIGINS", "*"],
    ["RATE_LIMIT_SEND_PER_USER", "10/0"],
    ["RATE_LIMIT_AUTH_PER_IP", "0/60"],
    ["RATE_LIMIT_AUTH_PER_ACCOUNT", "ten per minute"],
    ["RATE_LIMIT_AUTH_PER_ACCOUNT_IP", "5"],
    ["RATE_LIMIT_MEMORY_MAX_BUCKETS", "10"],
    ["WS_FRAME_RATE", "-1/10"],
    ["LOG_LEVEL", "verbose"],
    ["NODE_ENV", "staging"],
    ["COOKIE_SECURE", "yes"],
    ["CLIENT_IP_HEADER", "X-Forwarded-For"],
    ["DRAIN_MS", "-5"],
    ["ACCESS_TOKEN_TTL_SECONDS", "5"],
    ["PRESENCE_LEASE_SECONDS", "21"], // past 20 a killed instance's users could stay online beyond 30 s
    ["PRESENCE_TYPING_TIMEOUT_MS", "9000"], // typing must expire within 8 s
    ["PRESENCE_OFFLINE_GRACE_MS", "-1"],
    ["RATE_LIMIT_TYPING_PER_USER", "5"],
    ["RATE_LIMIT_CHANGE_PER_USER", "0/10"],
    ["RATE_LIMIT_SEARCH_PER_USER", "fast"],
    ["RATE_LIMIT_FRIEND_REQUEST_PER_USER", "0/600"],
    ["MESSAGE_EDIT_WINDOW_SECONDS", "-1"],
    ["MESSAGE_EDIT_WINDOW_SECONDS", "one hour"],
    ["RESUME_MAX_MESSAGES", "100001"],
    ["RECEIPT_EVENTS_MAX_MEMBERS", "many"],
    ["WS_MAX_BUFFERED_BYTES", "1024"], // below 64 KiB a burst of ordinary events would count as slow
    ["WS_IDLE_TIMEOUT_SECONDS", "4"],
    ["WS_MAX_SOCKETS_PER_USER", "0"],
    ["WS_STALL_TIMEOUT_MS", "100"], // a reader is given a moment before it counts as stalled
    ["ROOM_TAIL_CHECK_MS", "50"],
    ["DATABASE_URL", "pglite"],
    ["HTTP_OVERSIZE_DRAIN_BYTES", "1000"], // below the 256 KiB body limit there would be nothing to drain
    ["JOBS_CONCURRENCY", "0"],
    ["JOBS_POLL_INTERVAL_MS", "soon"],
    ["JOBS_LEASE_SECONDS", "1"], // a lease shorter than a poll or two would be taken over from a live instance
    ["JOBS_MAX_ATTEMPTS", "0"],
    ["JOBS_RETRY_MIN_MS", "0"],
  ])("refuses %s=%j with a ConfigError naming the field", (field, value) => {
    const error = refused({ [field]: value });
    // A list names the entry too: "ALLOWED_ORIGINS.1: …".
    expect(error.issues.some((issue) => new RegExp(`^${field}(\\.\\d+)?: `).test(issue)), error.message).toBe(true);
    expect(error.message).toContain(field);
  });

  it("counts failed logins per (account, address) much more strictly than per account, by default", () => {
    expect(parseConfig({}).rateLimits).toMatchObject({
      authPerAccountIp: { capacity: 5, periodSeconds: 900 },
      authPerAccount: { capacity: 50, periodSeconds: 3600 },
      friendRequestPerUser: { capacity: 20, periodSeconds: 600 },
    });
    expect(parseConfig({}).rateLimitMemoryMaxBuckets).toBe(100_000);
  });

  it.each([
    ["as many failures", { RATE_LIMIT_AUTH_PER_ACCOUNT_IP: "50/7200" }],
    ["a faster refill", { RATE_LIMIT_AUTH_PER_ACCOUNT_IP: "5/60" }],
    ["a per-account rule loosened past it", { RATE_LIMIT_AUTH_PER_ACCOUNT: "4/60" }],
  ])("refuses a per-(account, address) failure limit no stricter than the per-account one (%s)", (_name, env) => {
    const error = refused(env);
    expect(error.issues).toEqual([expect.stringMatching(/^RATE_LIMIT_AUTH_PER_ACCOUNT_IP: .*RATE_LIMIT_AUTH_PER_ACCOUNT/)]);
  });

  it("caps each user at 16 sockets per instance and gives a stalled reader 10 s by default", () => {
    expect(parseConfig({})).toMatchObject({ wsMaxSocketsPerUser: 16, wsStallTimeoutMs: 10_000, wsMaxBufferedBytes: 1024 * 1024 });
    expect(parseConfig({ WS_MAX_SOCKETS_PER_USER: "1", WS_STALL_TIMEOUT_MS: "500" })).toMatchObject({
      wsMaxSocketsPerUser: 1,
      wsStallTimeoutMs: 500,
    });
  });

  it("keeps presence leases under 30 s of ghosts by default, with a short offline grace and typing expiry", () => {
    expect(parseConfig({}).presence).toEqual({ leaseSeconds: 15, offlineGraceMs: 5000, typingTimeoutMs: 6000, eventsMaxMembers: 100 });
    expect(
      parseConfig({ PRESENCE_LEASE_SECONDS: "2", PRESENCE_OFFLINE_GRACE_MS: "0", PRESENCE_TYPING_TIMEOUT_MS: "500" }).presence,
    ).toEqual({ leaseSeconds: 2, offlineGraceMs: 0, typingTimeoutMs: 500, eventsMaxMembers: 100 });
  });

  it("runs four outbox handlers per instance, polls every second, and gives up on a job after ten attempts, by default", () => {
    expect(parseConfig({}).jobs).toEqual({
      concurrency: 4,
      pollIntervalMs: 1000,
      leaseMs: 60_000,
      maxAttempts: 10,
      retryMinMs: 5000,
      retryMaxMs: 1_800_000,
      testHandlers: false,
    });
    expect(parseConfig({ JOBS_LEASE_SECONDS: "5", JOBS_RETRY_MIN_MS: "100", JOBS_RETRY_MAX_MS: "50" }).jobs).toMatchObject({
      leaseMs: 5000,
      retryMinMs: 100,
      retryMaxMs: 100, // a ceiling below the first window is the first window
    });
  });

  it("handles the test-only job kind on test servers only", () => {
    expect(parseConfig({ NODE_ENV: "test", JOBS_TEST_HANDLERS: "1" }).jobs.testHandlers).toBe(true);
    expect(refused({ NODE_ENV: "development", JOBS_TEST_HANDLERS: "1" }).issues).toEqual([expect.stringMatching(/^JOBS_TEST_HANDLERS: /)]);
  });

  it("serves the checkout's web/dist at / by default, another folder with WEB_DIST_DIR, none with WEB_APP=off", () => {
    expect(parseConfig({}).webApp).toEqual({ distDir: fileURLToPath(new URL("../web/dist", import.meta.url)) });
    expect(parseConfig({ WEB_DIST_DIR: "/srv/parley-web" }).webApp).toEqual({ distDir: "/srv/parley-web" });
    expect(parseConfig({ WEB_APP: "off", WEB_DIST_DIR: "/srv/parley-web" }).webApp).toBeNull();
    expect(refused({ WEB_APP: "no" }).issues).toEqual([expect.stringMatching(/^WEB_APP: /)]);
  });

  it("reports every bad field at once, not just the first", () => {
    const error = refused({ PORT: "abc", LOG_LEVEL: "loud", JWT_SECRET: "short" });
    expect(error.issues.map((issue) => issue.split(":")[0]).sort()).toEqual(["JWT_SECRET", "LOG_LEVEL", "PORT"]);
  });

  it("refuses to start in production without JWT_SECRET and ALLOWED_ORIGINS, naming both", () => {
    const error = refused({ NODE_ENV: "production" });
    expect(error.issues).toEqual(
      expect.arrayContaining([expect.stringMatching(/^JWT_SECRET: /), expect.stringMatching(/^ALLOWED_ORIGINS: /)]),
    );
    expect(refused({ NODE_ENV: "production", JWT_SECRET: SECRET, ALLOWED_ORIGINS: " , ", DATABASE_URL: PG }).issues).toEqual([
      expect.stringMatching(/^ALLOWED_ORIGINS: /),
    ]);
  });

  it("refuses to start in production without DATABASE_URL, naming it and the embedded opt-in", () => {
    const error = refused({ NODE_ENV: "production", JWT_SECRET: SECRET, ALLOWED_ORIGINS: "https://chat.example" });
    expect(error.issues).toEqual([expect.stringMatching(/^DATABASE_URL: required when NODE_ENV=production.*postgres:\/\/.*"embedded"/)]);
    expect(refused({ NODE_ENV: "production", JWT_SECRET: SECRET, ALLOWED_ORIGINS: "https://chat.example", DATABASE_URL: "" }).issues).toEqual([
      expect.stringMatching(/^DATABASE_URL: /),
    ]);
  });

  it("runs production on the embedded database only when DATABASE_URL=embedded says so on purpose", () => {
    const production = { NODE_ENV: "production", JWT_SECRET: SECRET, ALLOWED_ORIGINS: "https://chat.example" };
    expect(parseConfig({ ...production, DATABASE_URL: "embedded", DATA_DIR: "/data" }).database).toEqual({ kind: "pglite", dataDir: "/data/pglite" });
    expect(parseConfig({ ...production, DATABASE_URL: PG }).database).toEqual({ kind: "postgres", url: PG, poolSize: 10 });
  });

  it("keeps the embedded default (unset or embedded) and memory working in development and test", () => {
    for (const NODE_ENV of ["development", "test"]) {
      expect(parseConfig({ NODE_ENV }).database).toEqual({ kind: "pglite", dataDir: "./.data/pglite" });
      expect(parseConfig({ NODE_ENV, DATABASE_URL: "embedded" }).database).toEqual({ kind: "pglite", dataDir: "./.data/pglite" });
      expect(parseConfig({ NODE_ENV, DATABASE_URL: "memory" }).database).toEqual({ kind: "pglite-memory" });
    }
  });

  it("in production uses exactly the origins given and secure cookies", () => {
    const config = parseConfig({ NODE_ENV: "production", JWT_SECRET: SECRET, ALLOWED_ORIGINS: "https://chat.example", DATABASE_URL: PG });
    expect(config.allowedOrigins).toEqual(["https://chat.example"]);
    expect(config.cookieSecure).toBe(true);
    expect(config.auth.jwtSecret).toBe(SECRET);
  });

  it("treats empty strings as unset, as docker and fly pass them", () => {
    const config = parseConfig({ PORT: "", DATABASE_URL: "", REDIS_URL: "", JWT_SECRET: "", LOG_LEVEL: "", DATA_DIR: "" });
    expect(config.port).toBe(3000);
    expect(config.database).toEqual({ kind: "pglite", dataDir: "./.data/pglite" });
    expect(config.redis).toBeNull();
    expect(config.auth.jwtSecret).toBeNull();
    expect(config.logLevel).toBe("info");
    const error = refused({ NODE_ENV: "production", JWT_SECRET: "", ALLOWED_ORIGINS: "", DATABASE_URL: "" });
    expect(error.issues.map((issue) => issue.split(":")[0]).sort()).toEqual(["ALLOWED_ORIGINS", "DATABASE_URL", "JWT_SECRET"]);
  });

  it("makes a real server process exit with code 1 at boot, printing the bad field", async () => {
    const start = startServer("node", { PORT: "abc", LOG_LEVEL: "loud" });
    const failure = await start.then(
      (server) => server.stop().then(() => new Error("the server started")),
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
    expect(failure.message).toMatch(/exited with 1 before listening/);
    const fatal = failure.message
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { level?: string; issues?: string[] })
      .find((line) => line.level === "fatal");
    expect(fatal?.issues).toEqual([expect.stringMatching(/^PORT: /), expect.stringMatching(/^LOG_LEVEL: /)]);
  });

  it("makes a production server without DATABASE_URL exit with code 1 at boot, naming DATABASE_URL", async () => {
    const failure = await startServer("node", { NODE_ENV: "production", DATABASE_URL: "", ALLOWED_ORIGINS: "https://chat.example" }).then(
      (server) => server.stop().then(() => new Error("the server started")),
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
    expect(failure.message).toMatch(/exited with 1 before listening/);
    const fatal = failure.message
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { level?: string; issues?: string[] })
      .find((line) => line.level === "fatal");
    expect(fatal?.issues).toEqual([expect.stringMatching(/^DATABASE_URL: required when NODE_ENV=production/)]);
  });
});
