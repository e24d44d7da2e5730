import { fileURLToPath } from "node:url";
import { z } from "zod";

/** A token bucket: `capacity` tokens, refilled evenly over `periodSeconds`. Written "capacity/periodSeconds". */
export interface BucketRule {
  capacity: number;
  periodSeconds: number;
}

const bucketRule = z
  .string()
  .regex(/^\d{1,6}\/\d{1,6}$/, 'expected "capacity/periodSeconds", e.g. "10/60"')
  .transform((raw): BucketRule => {
    const [capacity, periodSeconds] = raw.split("/").map(Number) as [number, number];
    return { capacity, periodSeconds };
  })
  .refine((rule) => rule.capacity > 0 && rule.periodSeconds > 0, "capacity and period must be positive");

const csv = z
  .string()
  .transform((raw) => raw.split(",").map((part) => part.trim()).filter((part) => part.length > 0));

const origin = z.string().refine((value) => {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}, "each origin must be scheme://host[:port] with no path or trailing slash");

const EnvSchema = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default("0.0.0.0"),
    INSTANCE_ID: z.string().min(1).max(64).optional(),
    /**
     * postgres://…: real Postgres. "embedded" (the default outside production): PGlite persisted under DATA_DIR.
     * "memory": ephemeral PGlite. Production must say which: unset there is refused.
     */
    DATABASE_URL: z
      .string()
      .refine((v) => v === "embedded" || v === "memory" || /^postgres(ql)?:\/\//.test(v), 'expected a postgres:// URL, "embedded" or "memory"')
      .optional(),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    DATA_DIR: z.string().min(1).default("./.data"),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, "expected a redis:// or rediss:// URL").optional(),
    /** Namespaces every Redis key and channel, so several deployments (or test runs) can share one Redis. */
    REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/).default("parley:"),
    /** HS256 signing secret for access tokens, at least 32 characters. Generated in development when absent. */
    JWT_SECRET: z.string().min(32, "JWT_SECRET must be at least 32 characters").optional(),
    JWT_ISSUER: z.string().min(1).default("parley"),
    JWT_AUDIENCE: z.string().min(1).default("parley-api"),
    ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(3600).default(900),
    REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(300).max(90 * 86400).default(30 * 86400),
    /** Exact origins allowed for browsers (CORS, cookie endpoints, WebSocket upgrades). Required in production. */
    ALLOWED_ORIGINS: csv.pipe(z.array(origin).max(50)).optional(),
    /** Defaults to true in production. Secure cookies use the __Host- prefix. */
    COOKIE_SECURE: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
    /** Header holding the client IP set by a trusted proxy (e.g. fly-client-ip). Never X-Forwarded-For from clients. */
    CLIENT_IP_HEADER: z.string().regex(/^[a-z0-9-]{1,64}$/).optional(),
    RATE_LIMIT_AUTH_PER_IP: bucketRule.default({ capacity: 30, periodSeconds: 60 }),
    /** Failed logins to one account from one client address. Must be stricter than the per-account rule. */
    RATE_LIMIT_AUTH_PER_ACCOUNT_IP: bucketRule.default({ capacity: 5, periodSeconds: 900 }),
    /** Failed logins to one account from all addresses together. */
    RATE_LIMIT_AUTH_PER_ACCOUNT: bucketRule.default({ capacity: 50, periodSeconds: 3600 }),
    /** Buckets the in-memory limiter keeps at most (no Redis, or Redis down); idle full buckets go before that. */
    RATE_LIMIT_MEMORY_MAX_BUCKETS: z.coerce.number().int().min(1000).max(10_000_000).default(100_000),
    RATE_LIMIT_SEND_PER_USER: bucketRule.default({ capacity: 30, periodSeconds: 10 }),
    RATE_LIMIT_TYPING_PER_USER: bucketRule.default({ capacity: 10, periodSeconds: 10 }),
    /** Edits, deletes, reactions and pins: each is a room event every member receives. */
    RATE_LIMIT_CHANGE_PER_USER: bucketRule.default({ capacity: 30, periodSeconds: 10 }),
    /** messages.search: the most expensive read. */
    RATE_LIMIT_SEARCH_PER_USER: bucketRule.default({ capacity: 20, periodSeconds: 10 }),
    /** How long after sending a message its sender may edit it; 0: always. */
    MESSAGE_EDIT_WINDOW_SECONDS: z.coerce.number().int().min(0).max(10 * 365 * 24 * 3600).default(0),
    /** Every tRPC call (each call of a batch counts) of a signed-in user / of a client address not signed in. */
    RATE_LIMIT_CALLS_PER_USER: bucketRule.default({ capacity: 600, periodSeconds: 60 }),
    RATE_LIMIT_CALLS_PER_IP: bucketRule.default({ capacity: 300, periodSeconds: 60 }),
    RATE_LIMIT_ROOM_CREATE_PER_USER: bucketRule.default({ capacity: 10, periodSeconds: 600 }),
    RATE_LIMIT_INVITE_PER_USER: bucketRule.default({ capacity: 60, periodSeconds: 600 }),
    RATE_LIMIT_OPEN_DIRECT_PER_USER: bucketRule.default({ capacity: 30, periodSeconds: 600 }),
    RATE_LIMIT_JOIN_BY_LINK_PER_USER: bucketRule.default({ capacity: 20, periodSeconds: 600 }),
    /** friends.request calls (accepting one by asking back counts too): each reaches another person. */
    RATE_LIMIT_FRIEND_REQUEST_PER_USER: bucketRule.default({ capacity: 20, periodSeconds: 600 }),
    /** users.block calls of one user (unblocking is not limited). */
    RATE_LIMIT_BLOCK_PER_USER: bucketRule.default({ capacity: 30, periodSeconds: 600 }),
    /** rooms.setRole and rooms.transferOwnership: each is a room event every member receives. */
    RATE_LIMIT_ROLE_CHANGES_PER_USER: bucketRule.default({ capacity: 30, periodSeconds: 600 }),
    /** rooms.ban, unban, mute, unmute, kick and update, one bucket per moderator (each is an event to every member). */
    RATE_LIMIT_MODERATION_PER_USER: bucketRule.default({ capacity: 60, periodSeconds: 600 }),
    /** moderation.report. */
    RATE_LIMIT_REPORT_PER_USER: bucketRule.default({ capacity: 10, periodSeconds: 600 }),
    /** Socket tickets: one per (re)connect, so this also caps how fast one user can reconnect. */
    RATE_LIMIT_WS_TICKET_PER_USER: bucketRule.default({ capacity: 30, periodSeconds: 60 }),
    /** auth.resendVerification and auth.changeEmail of one user: each sends an email. */
    RATE_LIMIT_EMAIL_PER_USER: bucketRule.default({ capacity: 5, periodSeconds: 3600 }),
    /** auth.requestPasswordReset per email address asked about (known or not); per client address it is RATE_LIMIT_AUTH_PER_IP. */
    RATE_LIMIT_PASSWORD_RESET_PER_EMAIL: bucketRule.default({ capacity: 3, periodSeconds: 3600 }),
    /** smtp:// or smtps:// (with user:pass@ when the server wants them). Unset: emails are written under DATA_DIR/mail. */
    SMTP_URL: z
      .string()
      .refine((value) => /^smtps?:\/\/[^/]/.test(value) && URL.canParse(value), "expected smtp://[user:pass@]host[:port] or smtps://…")
      .optional(),
    /** The From of every email: an address, or `Name <address>`. */
    MAIL_FROM: z.string().min(3).max(320).default("Parley <parley@localhost>"),
    /** Where users reach Parley: every link in an email is built on it. Default http://localhost:PORT. */
    PUBLIC_URL: z
      .string()
      .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), "expected an http(s):// URL")
      .transform((value) => value.replace(/\/+$/, ""))
      .optional(),
    /** Only users who verified their email may send messages (FORBIDDEN, reason EMAIL_UNVERIFIED). */
    REQUIRE_VERIFIED_EMAIL: z.enum(["true", "false"]).transform((v) => v === "true").default(false),
    /** Calls one tRPC batch request may hold; a larger batch is refused whole (nothing runs). */
    TRPC_MAX_BATCH: z.coerce.number().int().min(1).max(256).default(16),
    /** Members one room may have; joining or inviting past it is refused (FORBIDDEN, reason ROOM_FULL). */
    ROOM_MAX_MEMBERS: z.coerce.number().int().min(2).max(1_000_000).default(10_000),
    /** Rooms one user may belong to; creating, joining or being added past it is refused (reason ROOM_LIMIT). */
    USER_MAX_ROOMS: z.coerce.number().int().min(1).max(1_000_000).default(5_000),
    /** Bearer token that `GET /metrics` requires on the main port; without it /metrics is not served there. */
    METRICS_TOKEN: z.string().min(16, "METRICS_TOKEN must be at least 16 characters").optional(),
    /** A second listener that serves only /metrics (no token), for a private scrape port such as Fly's. */
    METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    /** Frames one socket may send (any type); past it frames are refused, and persistent abuse closes with 1008. */
    WS_FRAME_RATE: bucketRule.default({ capacity: 100, periodSeconds: 10 }),
    /** Rooms with more members announce receipts only to the reader's own devices (receipt traffic is O(members²)). */
    RECEIPT_EVENTS_MAX_MEMBERS: z.coerce.number().int().min(0).max(100_000).default(100),
    /**
     * How often each instance compares the rooms it follows with the database: a newest message whose publish
     * never arrived (its instance died after the commit, the bus dropped it) is delivered within two of these.
     */
    ROOM_TAIL_CHECK_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
    /** A reconnecting socket replays at most this many missed messages per room; beyond it, recovered: false. */
    RESUME_MAX_MESSAGES: z.coerce.number().int().min(0).max(100_000).default(1000),
    /**
     * An oversize request body (over 256 KiB) is read and thrown away up to this many bytes before the 413, so a
     * client that sends everything before reading still gets the answer; past it the connection is cut.
     */
    HTTP_OVERSIZE_DRAIN_BYTES: z.coerce.number().int().min(256 * 1024).max(64 * 1024 * 1024).default(8 * 1024 * 1024),
    /** Where uploads live: "local" (DATA_DIR/files, served by Parley itself; the default) or "s3". */
    FILE_STORAGE: z.enum(["local", "s3"]).default("local"),
    /** S3 or compatible (R2, Tigris on Fly, radosgw): required when FILE_STORAGE=s3. */
    S3_ENDPOINT: z.url().optional(),
    S3_BUCKET: z.string().min(3).max(63).optional(),
    S3_REGION: z.string().min(1).default("us-east-1"),
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    /** Path-style URLs (host/bucket/key): radosgw, MinIO and most self-hosted servers need it. */
    S3_FORCE_PATH_STYLE: z.enum(["true", "false"]).transform((v) => v === "true").default(false),
    /** Comma-separated MIME types an upload may declare; the default is images, PDF, text, office, audio and video. */
    FILES_ALLOWED_TYPES: z
      .string()
      .transform((raw) => raw.split(",").map((type) => type.trim().toLowerCase()).filter(Boolean))
      .optional(),
    /** Largest upload, in bytes. */
    FILES_MAX_BYTES: z.coerce.number().int().min(1).max(5 * 1024 ** 3).default(25 * 1024 * 1024),
    /** What one user's ready and pending files may add up to. */
    USER_STORAGE_QUOTA_MB: z.coerce.number().int().min(1).max(10_000_000).default(1024),
    /** files.createUpload calls per user. */
    RATE_LIMIT_UPLOAD_PER_USER: bucketRule.default({ capacity: 30, periodSeconds: 600 }),
    /** "off": Parley serves no web app at `/` (a deployment that hosts it elsewhere, or none). */
    WEB_APP: z.enum(["on", "off"]).default("on"),
    /** The built web app (index.html, assets/): default web/dist of this checkout, built by `npm install`. */
    WEB_DIST_DIR: z.string().min(1).optional(),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
    /** How long SIGTERM spends closing sockets (in batches, code 1012) before closing Redis and the database. */
    DRAIN_MS: z.coerce.number().int().min(0).max(300_000).default(10_000),
    /** A socket with more than this queued for it is too slow: closed with 4002 so the client reconnects and resumes. */
    WS_MAX_BUFFERED_BYTES: z.coerce.number().int().min(64 * 1024).max(64 * 1024 * 1024).default(1024 * 1024),
    /**
     * Sockets one user may hold on one instance (open, or upgrading); the next upgrade is refused with 429 — the
     * open ones are never closed to make room, so a leaked credential cannot cut the owner's devices off.
     */
    WS_MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(16),
    /**
     * A replay waits while a socket's send buffer is full; a socket whose buffer has not drained at all for this
     * long is given up on: closed with 4002 (reconnect and resume).
     */
    WS_STALL_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(10_000),
    /** Idle sockets are pinged; a socket that has not answered within this long is closed. */
    WS_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(960).default(60),
    /**
     * Each instance's presence heartbeat lease (renewed every third of it). A killed instance's users go offline
     * within about 4/3 of it: at most 20 keeps that under 30 s.
     */
    PRESENCE_LEASE_SECONDS: z.coerce.number().int().min(1).max(20).default(15),
    /** A user with no socket left stays online this long, so a reconnect (blip, deploy drain) is no event at all. */
    PRESENCE_OFFLINE_GRACE_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
    /** Rooms with more members hear no presence events (their members ask presence.get for whom they show). */
    PRESENCE_EVENTS_MAX_MEMBERS: z.coerce.number().int().min(0).max(100_000).default(100),
    /** An unrefreshed `typing: true` is turned off by the server after this long. */
    PRESENCE_TYPING_TIMEOUT_MS: z.coerce.number().int().min(500).max(8000).default(6000),
    /** Outbox handlers each instance runs at once (also the most jobs it claims per poll: small, for PGlite). */
    JOBS_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
    /** How often an idle worker looks for due jobs. */
    JOBS_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
    /** How long a claim holds unrenewed: a killed instance's jobs are taken over by another after about this long. */
    JOBS_LEASE_SECONDS: z.coerce.number().int().min(2).max(3600).default(60),
    /** Attempts before a job is dead (a job enqueued with a lower maxAttempts dies sooner). */
    JOBS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
    /** The first retry's delay is drawn from [0, this); each next window doubles, up to JOBS_RETRY_MAX_MS. */
    JOBS_RETRY_MIN_MS: z.coerce.number().int().min(1).max(3_600_000).default(5000),
    JOBS_RETRY_MAX_MS: z.coerce.number().int().min(1).max(86_400_000).default(1_800_000),
    /** Test servers only (NODE_ENV=test): also handle the "test.sleep" job kind, for fault specs. */
    JOBS_TEST_HANDLERS: z.enum(["1"]).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.FILE_STORAGE === "s3") {
      for (const name of ["S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const) {
        if (!env[name]) ctx.addIssue({ code: "custom", path: [name], message: "required when FILE_STORAGE=s3" });
      }
    }
    const [pair, account] = [env.RATE_LIMIT_AUTH_PER_ACCOUNT_IP, env.RATE_LIMIT_AUTH_PER_ACCOUNT];
    if (pair.capacity >= account.capacity || pair.capacity / pair.periodSeconds >= account.capacity / account.periodSeconds) {
      ctx.addIssue({
        code: "custom",
        path: ["RATE_LIMIT_AUTH_PER_ACCOUNT_IP"],
        // Otherwise guesses from one address could use up the account's allowance and lock its owner out everywhere.
        message: "must allow fewer failures, refilled more slowly, than RATE_LIMIT_AUTH_PER_ACCOUNT",
      });
    }
    if (env.JOBS_TEST_HANDLERS && env.NODE_ENV !== "test") {
      ctx.addIssue({ code: "custom", path: ["JOBS_TEST_HANDLERS"], message: "only for test servers (NODE_ENV=test)" });
    }
    if (env.NODE_ENV !== "production") return;
    if (!env.JWT_SECRET) {
      ctx.addIssue({ code: "custom", path: ["JWT_SECRET"], message: "required when NODE_ENV=production" });
    }
    if (!env.DATABASE_URL) {
      // The embedded default would quietly put production data on one machine's disk (or a throwaway one).
      ctx.addIssue({
        code: "custom",
        path: ["DATABASE_URL"],
        message: 'required when NODE_ENV=production: a postgres:// URL, or "embedded" to run on PGlite under DATA_DIR on purpose',
      });
    }
    if (!env.ALLOWED_ORIGINS || env.ALLOWED_ORIGINS.length === 0) {
      ctx.addIssue({ code: "custom", path: ["ALLOWED_ORIGINS"], message: "required when NODE_ENV=production" });
    }
  });

export type Env = z.infer<typeof EnvSchema>;

export type DatabaseConfig =
  | { kind: "pglite"; dataDir: string }
  | { kind: "pglite-memory" }
  | { kind: "postgres"; url: string; poolSize: number };

export interface Config {
  env: Env["NODE_ENV"];
  port: number;
  host: string;
  instanceId: string;
  dataDir: string;
  database: DatabaseConfig;
  redis: { url: string; prefix: string } | null;
  auth: {
    /** Null only outside production: the composition root then generates and persists one. */
    jwtSecret: string | null;
    issuer: string;
    audience: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
  };
  allowedOrigins: string[];
  cookieSecure: boolean;
  clientIpHeader: string | null;
  rateLimits: RateLimits;
  rateLimitMemoryMaxBuckets: number;
  trpcMaxBatch: number;
  limits: { roomMaxMembers: number; userMaxRooms: number };
  metrics: { token: string | null; port: number | null };
  resumeMaxMessages: number;
  roomTailCheckMs: number;
  receiptEventsMaxMembers: number;
  wsFrameBudget: BucketRule;
  wsMaxBufferedBytes: number;
  httpOversizeDrainBytes: number;
  wsMaxSocketsPerUser: number;
  wsStallTimeoutMs: number;
  logLevel: Env["LOG_LEVEL"];
  drainMs: number;
  wsIdleTimeoutSeconds: number;
  /** 0: a sender may edit their message at any time. */
  messageEditWindowSeconds: number;
  presence: { leaseSeconds: number; offlineGraceMs: number; typingTimeoutMs: number; eventsMaxMembers: number };
  publicUrl: string;
  files: FilesConfig;
  jobs: {
    concurrency: number;
    pollIntervalMs: number;
    leaseMs: number;
    maxAttempts: number;
    retryMinMs: number;
    retryMaxMs: number;
    /** Handle "test.sleep" (test servers only). */
    testHandlers: boolean;
  };
  mail: MailConfig;
  /** Null: WEB_APP=off, nothing is served at `/`. */
  webApp: { distDir: string } | null;
}

export interface MailConfig {
  /** Null: emails are written as .eml files under DATA_DIR/mail. */
  smtpUrl: string | null;
  from: string;
  /** No trailing slash; links in emails start with it. */
  publicUrl: string;
  requireVerifiedEmail: boolean;
}

export interface FilesConfig {
  storage:
    | { kind: "local"; root: string }
    | { kind: "s3"; endpoint: string | null; bucket: string; region: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: boolean };
  allowedTypes: string[];
  maxBytes: number;
  userQuotaBytes: number;
}

/** Images, PDF, plain text, the common office formats, audio and video. SVG and HTML are not among them. */
export const DEFAULT_FILE_TYPES = [
  "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif",
  "application/pdf", "text/plain",
  "application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  "application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
  "audio/mpeg", "audio/ogg", "audio/wav", "audio/webm", "audio/mp4",
  "video/mp4", "video/webm", "video/quicktime",
];

export interface RateLimits {
  /** Registrations and logins, successful or not, per client address. */
  authPerIp: BucketRule;
  /** Failed logins per (account, client address), and per account over every address: see the auth service. */
  authPerAccountIp: BucketRule;
  authPerAccount: BucketRule;
  sendPerUser: BucketRule;
  typingPerUser: BucketRule;
  changePerUser: BucketRule;
  searchPerUser: BucketRule;
  callsPerUser: BucketRule;
  callsPerIp: BucketRule;
  roomCreatePerUser: BucketRule;
  invitePerUser: BucketRule;
  openDirectPerUser: BucketRule;
  /** rooms.joinByLink attempts, valid or not: guessing tokens costs a call each. */
  joinByLinkPerUser: BucketRule;
  friendRequestPerUser: BucketRule;
  blockPerUser: BucketRule;
  roleChangesPerUser: BucketRule;
  moderationPerUser: BucketRule;
  reportPerUser: BucketRule;
  wsTicketPerUser: BucketRule;
  uploadPerUser: BucketRule;
  /** auth.resendVerification and auth.changeEmail, per user. */
  emailPerUser: BucketRule;
  /** auth.requestPasswordReset, per email address asked about. */
  passwordResetPerEmail: BucketRule;
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/**
 * The checkout's web/dist, found from this file rather than the working directory: `npm start` from anywhere, the
 * tests' server processes and the runtimes all agree on it. A relative WEB_DIST_DIR is taken from the working
 * directory, like DATA_DIR.
 */
const DEFAULT_WEB_DIST_DIR = fileURLToPath(new URL("../web/dist", import.meta.url));

const DEV_ORIGINS = ["http://localhost:3000", "http://127.0.0.1:3000", "http://localhost:5173"];

/** Parses the runtime's environment once. Pure: each runtime passes its own env object. */
export function parseConfig(source: Record<string, string | undefined>): Config {
  // Empty strings mean "unset" (as docker/fly often pass them).
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".") || "(env)"}: ${issue.message}`));
  }
  const env = parsed.data;
  const production = env.NODE_ENV === "production";
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    instanceId: env.INSTANCE_ID ?? crypto.randomUUID().slice(0, 8),
    dataDir: env.DATA_DIR,
    database:
      env.DATABASE_URL === undefined || env.DATABASE_URL === "embedded"
        ? { kind: "pglite", dataDir: `${env.DATA_DIR}/pglite` }
        : env.DATABASE_URL === "memory"
          ? { kind: "pglite-memory" }
          : { kind: "postgres", url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE },
    redis: env.REDIS_URL ? { url: env.REDIS_URL, prefix: env.REDIS_PREFIX } : null,
    auth: {
      jwtSecret: env.JWT_SECRET ?? null,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
    },
    allowedOrigins: env.ALLOWED_ORIGINS ?? (production ? [] : DEV_ORIGINS),
    cookieSecure: env.COOKIE_SECURE ?? production,
    clientIpHeader: env.CLIENT_IP_HEADER ?? null,
    rateLimits: {
      authPerIp: env.RATE_LIMIT_AUTH_PER_IP,
      authPerAccountIp: env.RATE_LIMIT_AUTH_PER_ACCOUNT_IP,
      authPerAccount: env.RATE_LIMIT_AUTH_PER_ACCOUNT,
      sendPerUser: env.RATE_LIMIT_SEND_PER_USER,
      typingPerUser: env.RATE_LIMIT_TYPING_PER_USER,
      changePerUser: env.RATE_LIMIT_CHANGE_PER_USER,
      searchPerUser: env.RATE_LIMIT_SEARCH_PER_USER,
      callsPerUser: env.RATE_LIMIT_CALLS_PER_USER,
      callsPerIp: env.RATE_LIMIT_CALLS_PER_IP,
      roomCreatePerUser: env.RATE_LIMIT_ROOM_CREATE_PER_USER,
      invitePerUser: env.RATE_LIMIT_INVITE_PER_USER,
      openDirectPerUser: env.RATE_LIMIT_OPEN_DIRECT_PER_USER,
      joinByLinkPerUser: env.RATE_LIMIT_JOIN_BY_LINK_PER_USER,
      friendRequestPerUser: env.RATE_LIMIT_FRIEND_REQUEST_PER_USER,
      blockPerUser: env.RATE_LIMIT_BLOCK_PER_USER,
      roleChangesPerUser: env.RATE_LIMIT_ROLE_CHANGES_PER_USER,
      moderationPerUser: env.RATE_LIMIT_MODERATION_PER_USER,
      reportPerUser: env.RATE_LIMIT_REPORT_PER_USER,
      wsTicketPerUser: env.RATE_LIMIT_WS_TICKET_PER_USER,
      uploadPerUser: env.RATE_LIMIT_UPLOAD_PER_USER,
      emailPerUser: env.RATE_LIMIT_EMAIL_PER_USER,
      passwordResetPerEmail: env.RATE_LIMIT_PASSWORD_RESET_PER_EMAIL,
    },
    rateLimitMemoryMaxBuckets: env.RATE_LIMIT_MEMORY_MAX_BUCKETS,
    trpcMaxBatch: env.TRPC_MAX_BATCH,
    limits: { roomMaxMembers: env.ROOM_MAX_MEMBERS, userMaxRooms: env.USER_MAX_ROOMS },
    metrics: { token: env.METRICS_TOKEN ?? null, port: env.METRICS_PORT ?? null },
    resumeMaxMessages: env.RESUME_MAX_MESSAGES,
    messageEditWindowSeconds: env.MESSAGE_EDIT_WINDOW_SECONDS,
    roomTailCheckMs: env.ROOM_TAIL_CHECK_MS,
    receiptEventsMaxMembers: env.RECEIPT_EVENTS_MAX_MEMBERS,
    wsFrameBudget: env.WS_FRAME_RATE,
    wsMaxBufferedBytes: env.WS_MAX_BUFFERED_BYTES,
    httpOversizeDrainBytes: env.HTTP_OVERSIZE_DRAIN_BYTES,
    wsMaxSocketsPerUser: env.WS_MAX_SOCKETS_PER_USER,
    wsStallTimeoutMs: env.WS_STALL_TIMEOUT_MS,
    logLevel: env.LOG_LEVEL,
    drainMs: env.DRAIN_MS,
    wsIdleTimeoutSeconds: env.WS_IDLE_TIMEOUT_SECONDS,
    presence: {
      leaseSeconds: env.PRESENCE_LEASE_SECONDS,
      offlineGraceMs: env.PRESENCE_OFFLINE_GRACE_MS,
      typingTimeoutMs: env.PRESENCE_TYPING_TIMEOUT_MS,
      eventsMaxMembers: env.PRESENCE_EVENTS_MAX_MEMBERS,
    },
    publicUrl: env.PUBLIC_URL ?? `http://localhost:${env.PORT}`,
    files: {
      storage:
        env.FILE_STORAGE === "s3"
          ? {
              kind: "s3",
              endpoint: env.S3_ENDPOINT ?? null,
              bucket: env.S3_BUCKET ?? "",
              region: env.S3_REGION,
              accessKeyId: env.S3_ACCESS_KEY_ID ?? "",
              secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? "",
              forcePathStyle: env.S3_FORCE_PATH_STYLE,
            }
          : { kind: "local", root: `${env.DATA_DIR}/files` },
      allowedTypes: env.FILES_ALLOWED_TYPES ?? DEFAULT_FILE_TYPES,
      maxBytes: env.FILES_MAX_BYTES,
      userQuotaBytes: env.USER_STORAGE_QUOTA_MB * 1024 * 1024,
    },
    jobs: {
      concurrency: env.JOBS_CONCURRENCY,
      pollIntervalMs: env.JOBS_POLL_INTERVAL_MS,
      leaseMs: env.JOBS_LEASE_SECONDS * 1000,
      maxAttempts: env.JOBS_MAX_ATTEMPTS,
      retryMinMs: env.JOBS_RETRY_MIN_MS,
      retryMaxMs: Math.max(env.JOBS_RETRY_MAX_MS, env.JOBS_RETRY_MIN_MS),
      testHandlers: env.JOBS_TEST_HANDLERS === "1",
    },
    mail: {
      smtpUrl: env.SMTP_URL ?? null,
      from: env.MAIL_FROM,
      publicUrl: env.PUBLIC_URL ?? `http://localhost:${env.PORT}`,
      requireVerifiedEmail: env.REQUIRE_VERIFIED_EMAIL,
    },
    webApp: env.WEB_APP === "off" ? null : { distDir: env.WEB_DIST_DIR ?? DEFAULT_WEB_DIST_DIR },
  };
}
