import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { type AddressObject, type ParsedMail, simpleParser } from "mailparser";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Attachment, CreatedUpload, FileInfo, FileUrl, Message, MessagePage, Room, RoomInvitation, UserProfile } from "../../src/contract.ts";
import { createS3Storage } from "../../src/infra/storage/s3.ts";
import { createPostgresTestDatabase } from "../support/databases.ts";
import { uniqueUsername } from "../support/factories.ts";
import { bearer, createHttpProbe, type HttpProbe, resultOf } from "../support/http-probe.ts";
import { uniqueRedisPrefix } from "../support/redis.ts";
import { NO_S3_SERVER, testS3Settings } from "../support/s3.ts";
import { type ServerProcess, startServer, TEST_SERVER_DEFAULTS } from "../support/server-process.ts";
import { type SmtpSink, startSmtpSink } from "../support/smtp-sink.ts";
import { freePort } from "../support/throwaway-redis.ts";

const postgresUrl = inject("postgresUrl");
const redisUrl = inject("redisUrl");
const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a brand new battery staple";
/** Each walkthrough is one spec: boot aside, it is a few seconds of calls and two or three outbox polls. */
const WALKTHROUGH_MS = 50_000;

/** Where the walkthrough's emails arrive: `.eml` files under DATA_DIR/mail, or a real SMTP server. */
interface Mailbox {
  /** The next email to `to`, parsed back from its MIME. */
  next(to: string): Promise<ParsedMail>;
}

/**
 * Issue 11's "done means": a new user's whole way through Parley, against a real server process, by a client that
 * speaks only HTTP — tRPC calls, the presigned upload form and plain downloads — and reads the emails a person
 * would. Run on the embedded default exactly as `npm start` serves it, and on Postgres + Redis + S3 + SMTP.
 */
describe("the new-user walkthrough on the embedded default (`npm start`: PGlite, .eml files, local-disk files)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-walkthrough-"));
  let server: ServerProcess;

  beforeAll(async () => {
    const port = await freePort();
    // None of the test servers' settings: NODE_ENV, the database, the JWT secret, origins and rate limits are
    // Parley's own defaults. Only the port (one of ours; PUBLIC_URL follows it), loopback and the data dir are set.
    const asShipped = Object.fromEntries(Object.keys(TEST_SERVER_DEFAULTS).map((name) => [name, ""]));
    server = await startServer("bun", { ...asShipped, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir });
  });

  afterAll(async () => {
    const code = await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    expect(code, server?.output()).toBe(0);
  });

  it(
    "registers, verifies by the .eml's link, shares a photo and a PDF through Parley's own file routes, and resets a password",
    async () => {
      expect(server.logs.map((line) => line.msg)).toContain("no SMTP_URL: emails are written as .eml files");
      expect(existsSync(join(dataDir, "pglite")), "the database is PGlite under DATA_DIR").toBe(true);
      // PUBLIC_URL's default: the links in emails and the file URLs both lead to this server.
      const publicUrl = `http://localhost:${server.port}`;
      await walkThrough({
        probe: createHttpProbe(server.url),
        publicUrl,
        filesOrigin: publicUrl,
        mailbox: emlMailbox(join(dataDir, "mail")),
        linksOpenParley: true,
      });
      const files = await readdir(join(dataDir, "files", "files"));
      expect(files.filter((name) => !name.endsWith(".meta.json")), "both uploads are on the data dir's disk").toHaveLength(2);
    },
    WALKTHROUGH_MS,
  );
});

const s3Settings = testS3Settings();
// As in test-storages.ts: without an S3 server this setup is skipped loudly, except under CI=true, where it fails.
const skipS3 = !s3Settings && process.env.CI !== "true";
if (skipS3) console.warn(`\n*** SKIPPED: the walkthrough on Postgres + Redis + S3 + SMTP — ${NO_S3_SERVER} ***\n`);

describe.skipIf(!postgresUrl || !redisUrl || skipS3)("the new-user walkthrough on Postgres, Redis, S3 (radosgw) and SMTP", () => {
  const PUBLIC_URL = "https://chat.example.test";
  const bucket = `parley-walkthrough-${crypto.randomUUID().slice(0, 8)}`;
  let database: { url: string; drop(): Promise<void> };
  let sink: SmtpSink;
  let s3: ReturnType<typeof createS3Storage>;
  let server: ServerProcess;

  beforeAll(async () => {
    if (!s3Settings) throw new Error(NO_S3_SERVER);
    s3 = createS3Storage({ ...s3Settings, bucket });
    await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
    database = await createPostgresTestDatabase();
    sink = await startSmtpSink();
    server = await startServer("bun", {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl as string,
      REDIS_PREFIX: uniqueRedisPrefix(),
      SMTP_URL: sink.url,
      MAIL_FROM: "Parley <parley@example.test>",
      PUBLIC_URL,
      FILE_STORAGE: "s3",
      S3_ENDPOINT: s3Settings.endpoint ?? "",
      S3_REGION: s3Settings.region,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: s3Settings.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3Settings.secretAccessKey,
      S3_FORCE_PATH_STYLE: String(s3Settings.forcePathStyle),
    });
  });

  afterAll(async () => {
    const code = await server?.stop();
    await sink?.stop();
    await database?.drop();
    if (s3) await emptyAndDropBucket(s3, bucket);
    expect(code, server?.output()).toBe(0);
  });

  it(
    "registers, verifies by the emailed link, shares a photo and a PDF through S3, and resets a password",
    async () => {
      await walkThrough({
        probe: createHttpProbe(server.url),
        publicUrl: PUBLIC_URL,
        linksOpenParley: false,
        // Path-style URLs on the configured endpoint (AWS's own virtual hosts are not checked).
        filesOrigin: s3Settings?.endpoint && s3Settings.forcePathStyle ? new URL(s3Settings.endpoint).origin : null,
        mailbox: { next: async (to) => (await sink.next(to, 10_000)).parsed },
      });
      const stored = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
      // Both uploads, and the photo's thumbnail.
      const folders = (stored.Contents ?? []).map((object) => object.Key?.split("/")[0]).sort();
      expect(folders, "both uploads and a thumbnail are objects in the bucket").toEqual(["files", "files", "thumbs"]);
    },
    WALKTHROUGH_MS,
  );
});

interface SignedIn {
  user: UserProfile;
  accessToken: string;
}

/**
 * Ana registers and verifies her address by the emailed link; she opens a private room and invites Bo, who accepts;
 * she sends a photo and a PDF; Bo reads both messages and downloads both files byte for byte, the photo to show
 * inline and the PDF to save; Eve, a stranger, is told the files do not exist; Ana forgets her password and resets
 * it by the emailed link.
 */
async function walkThrough(setup: {
  probe: HttpProbe;
  /** Where the emails' links lead. */
  publicUrl: string;
  /** Where uploads are POSTed and downloads fetched: Parley itself, or the S3 server; null: not checked. */
  filesOrigin: string | null;
  mailbox: Mailbox;
  /** PUBLIC_URL is this server: a person clicks the links and uses its pages. Otherwise an app's pages would call the API. */
  linksOpenParley: boolean;
}): Promise<void> {
  const { probe, publicUrl, filesOrigin, mailbox } = setup;
  /** Opens the emailed link (a page with the token in a form) and presses its button: the form POSTed back. */
  const clickThrough = async (path: string, token: string, fields: Record<string, string> = {}): Promise<string> => {
    const opened = await fetch(`${publicUrl}${path}?token=${token}`);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toContain(`name="token" value="${token}"`);
    const pressed = await fetch(`${publicUrl}${path}`, { method: "POST", body: new URLSearchParams({ token, ...fields }) });
    const page = await pressed.text();
    expect(pressed.status, page).toBe(200);
    return page;
  };
  const as = (who: SignedIn): { headers: Record<string, string> } => ({ headers: bearer(who.accessToken) });
  const register = async (name: string): Promise<SignedIn> => {
    const username = uniqueUsername(name);
    const email = `${username}@example.test`;
    return resultOf<SignedIn>(await probe.mutate("auth.register", { email, username, password: PASSWORD, refreshTokenIn: "body" }));
  };
  /** The token of the link in the next email to `to`: on PUBLIC_URL, in the text part a person reads. */
  const linkToken = async (to: string, subject: string, path: "/verify-email" | "/reset-password"): Promise<string> => {
    const mail = await mailbox.next(to);
    expect(mail.subject).toBe(subject);
    const link = new RegExp(`${escapeRegExp(publicUrl)}${path}\\?token=([A-Za-z0-9_-]{43})`).exec(mail.text ?? "");
    expect(link, mail.text).not.toBeNull();
    return link![1]!;
  };

  // Ana registers, and verifies her address by the link in the email that came.
  const ana = await register("ana");
  expect(ana.user.emailVerified).toBe(false);
  const verifyToken = await linkToken(ana.user.email, "Verify your email for Parley", "/verify-email");
  if (setup.linksOpenParley) {
    expect(await clickThrough("/verify-email", verifyToken)).toContain(`${ana.user.email} is verified`);
  } else {
    const verified = resultOf(await probe.mutate("auth.verifyEmail", { token: verifyToken }));
    expect(verified).toEqual({ verified: true, purpose: "verify", email: ana.user.email });
  }
  expect(resultOf<UserProfile>(await probe.query("auth.me", undefined, as(ana))).emailVerified).toBe(true);

  // Bo registers too; Ana opens a private room and invites him; he accepts.
  const bo = await register("bo");
  const room = resultOf<Room>(await probe.mutate("rooms.create", { name: "Ana and Bo", kind: "private" }, as(ana)));
  resultOf(await probe.mutate("rooms.invite", { roomId: room.id, userId: bo.user.id }, as(ana)));
  const invitations = resultOf<RoomInvitation[]>(await probe.query("rooms.invitations", undefined, as(bo)));
  const invitation = invitations.find((entry) => entry.room.id === room.id);
  expect(invitation?.inviter?.id).toBe(ana.user.id);
  resultOf(await probe.mutate("rooms.acceptInvite", { invitationId: invitation!.id }, as(bo)));

  // Ana uploads a real PNG and a PDF (the presigned form, then files.complete) and sends each as a message.
  const sunset = sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 250, g: 140, b: 40 } } });
  const png = new Uint8Array(await sunset.png().toBuffer());
  const pdf = onePagePdf("Minutes of the first meeting");
  const upload = async (filename: string, contentType: string, bytes: Uint8Array): Promise<FileInfo> => {
    const input = { purpose: "attachment", roomId: room.id, filename, contentType, size: bytes.byteLength };
    const created = resultOf<CreatedUpload>(await probe.mutate("files.createUpload", input, as(ana)));
    if (filesOrigin) expect(new URL(created.upload.url).origin).toBe(filesOrigin);
    const form = new FormData();
    for (const [name, value] of Object.entries(created.upload.fields)) form.append(name, value);
    form.append("file", new Blob([bytes as Uint8Array<ArrayBuffer>], { type: contentType }), filename); // the file last
    const posted = await fetch(created.upload.url, { method: "POST", body: form });
    expect(posted.status, await posted.text()).toBe(204);
    return resultOf<FileInfo>(await probe.mutate("files.complete", { fileId: created.fileId }, as(ana)));
  };
  const photo = await upload("sunset.png", "image/png", png);
  expect(photo).toMatchObject({ status: "ready", width: 640, height: 480, size: png.byteLength });
  const minutes = await upload("minutes.pdf", "application/pdf", pdf);
  expect(minutes).toMatchObject({ status: "ready", width: null, height: null, size: pdf.byteLength });
  const send = async (body: string, fileId: string): Promise<Message> => {
    const input = { roomId: room.id, clientMsgId: crypto.randomUUID(), body, attachments: [fileId] };
    return resultOf<Message>(await probe.mutate("messages.send", input, as(ana)));
  };
  const photoMessage = await send("", photo.id);
  const minutesMessage = await send("the minutes, as promised", minutes.id);
  expect([photoMessage.kind, minutesMessage.kind]).toEqual(["image", "file"]);

  // Bo reads the room: both messages, with what a client needs to show their files before fetching them.
  const page = resultOf<MessagePage>(await probe.query("messages.list", { roomId: room.id }, as(bo)));
  expect(page.messages.map(({ id, kind, body, sender }) => ({ id, kind, body, sender: sender.id }))).toEqual([
    { id: photoMessage.id, kind: "image", body: "", sender: ana.user.id },
    { id: minutesMessage.id, kind: "file", body: "the minutes, as promised", sender: ana.user.id },
  ]);
  const [photoAttachment, minutesAttachment] = page.messages.map((message) => onlyAttachment(message));
  expect(photoAttachment).toEqual({
    fileId: photo.id, filename: "sunset.png", contentType: "image/png", size: png.byteLength, width: 640, height: 480,
  });
  expect(minutesAttachment).toEqual({
    fileId: minutes.id, filename: "minutes.pdf", contentType: "application/pdf", size: pdf.byteLength, width: null, height: null,
  });

  // Bo downloads both with plain GETs of the URLs files.url gives him: the exact bytes, the photo to show inline,
  // the PDF as a download under its name.
  const download = async (fileId: string): Promise<Response> => {
    const { url } = resultOf<FileUrl>(await probe.query("files.url", { fileId }, as(bo)));
    if (filesOrigin) expect(new URL(url).origin).toBe(filesOrigin);
    const response = await fetch(url);
    expect(response.status, url).toBe(200);
    return response;
  };
  const photoDownload = await download(photo.id);
  expect(photoDownload.headers.get("content-type")).toBe("image/png");
  expect(photoDownload.headers.get("content-disposition")).toMatch(/^inline; filename="sunset\.png"/);
  expect(new Uint8Array(await photoDownload.arrayBuffer())).toEqual(png);
  const minutesDownload = await download(minutes.id);
  expect(minutesDownload.headers.get("content-type")).toBe("application/pdf");
  expect(minutesDownload.headers.get("content-disposition")).toMatch(/^attachment; filename="minutes\.pdf"/);
  expect(new Uint8Array(await minutesDownload.arrayBuffer())).toEqual(pdf);

  // Eve, signed in but no member, is told neither file exists.
  const eve = await register("eve");
  for (const fileId of [photo.id, minutes.id]) {
    const refused = await probe.query("files.url", { fileId }, as(eve));
    expect([refused.status, refused.errorCode]).toEqual([404, "NOT_FOUND"]);
  }

  // Ana forgets her password and resets it by the emailed link: the new one signs her in, the old one no longer.
  expect(resultOf(await probe.mutate("auth.requestPasswordReset", { email: ana.user.email }))).toEqual({ requested: true });
  const resetToken = await linkToken(ana.user.email, "Reset your Parley password", "/reset-password");
  if (setup.linksOpenParley) {
    expect(await clickThrough("/reset-password", resetToken, { newPassword: NEW_PASSWORD, again: NEW_PASSWORD })).toContain("Your password is changed");
  } else {
    expect(resultOf(await probe.mutate("auth.resetPassword", { token: resetToken, newPassword: NEW_PASSWORD }))).toMatchObject({ passwordReset: true });
  }
  const oldLogin = await probe.mutate("auth.login", { login: ana.user.username, password: PASSWORD, refreshTokenIn: "body" });
  expect([oldLogin.status, oldLogin.errorCode]).toEqual([401, "UNAUTHORIZED"]);
  const newLogin = await probe.mutate("auth.login", { login: ana.user.email, password: NEW_PASSWORD, refreshTokenIn: "body" });
  expect(resultOf<SignedIn>(newLogin).user.id).toBe(ana.user.id);
}

/**
 * A message's one attachment without its thumbnail, after checking that: previews are the server's to make or not,
 * but one that exists fits in 320×320.
 */
function onlyAttachment(message: Message): Omit<Attachment, "thumbnail"> {
  expect(message.attachments).toHaveLength(1);
  const { thumbnail, ...attachment } = message.attachments[0]!;
  if (thumbnail) expect(Math.max(thumbnail.width, thumbnail.height)).toBeLessThanOrEqual(320);
  return attachment;
}

/**
 * The embedded default's mail: each email is an `.eml` file under DATA_DIR/mail. `next` waits for a file not read
 * before that is addressed to `to` (the outbox sends within a poll or two of the change that caused it).
 */
function emlMailbox(dir: string): Mailbox {
  const read = new Set<string>();
  const unclaimed: ParsedMail[] = [];
  const addressedTo = (mail: ParsedMail, to: string): boolean =>
    ([] as AddressObject[]).concat(mail.to ?? []).some((list) => list.value.some((entry) => entry.address?.toLowerCase() === to.toLowerCase()));
  return {
    async next(to) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const names = (await readdir(dir)).filter((name) => name.endsWith(".eml") && !read.has(name)).sort();
        for (const name of names) {
          read.add(name);
          unclaimed.push(await simpleParser(await readFile(join(dir, name))));
        }
        const index = unclaimed.findIndex((mail) => addressedTo(mail, to));
        if (index !== -1) return unclaimed.splice(index, 1)[0]!;
        if (Date.now() > deadline) throw new Error(`no .eml to ${to} in ${dir} within 10 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

/**
 * A small but well-formed one-page PDF (catalog, page tree, page, content stream, font; byte offsets in the xref),
 * as a PDF reader opens it.
 */
function onePagePdf(text: string): Uint8Array {
  const content = `BT /F1 18 Tf 24 96 Td (${text.replace(/[()\\]/g, "\\$&")}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let pdf = "%PDF-1.4\n";
  const offsets = objects.map((body, index) => {
    const offset = pdf.length; // ASCII only: characters are bytes
    pdf += `${index + 1} 0 obj\n${body}\nendobj\n`;
    return offset;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((offset) => `${String(offset).padStart(10, "0")} 00000 n \n`).join("")}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(pdf);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Buckets are per run: what the walkthrough left in its bucket goes, then the bucket. */
async function emptyAndDropBucket(s3: ReturnType<typeof createS3Storage>, bucket: string): Promise<void> {
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  const keys = (listed.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
  if (keys.length > 0) await s3.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  await s3.client.send(new DeleteBucketCommand({ Bucket: bucket }));
  s3.close();
}
