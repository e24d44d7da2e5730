import { TRPCClientError } from "@trpc/client";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createParleyClient, type ParleyClient } from "../../client-sdk/src/index.ts";
import { uniqueUsername } from "../support/factories.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";
import { freePort } from "../support/throwaway-redis.ts";

const PDF = new TextEncoder().encode("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");

/**
 * `parley.upload(…)`: files.createUpload, the POST straight to storage, files.complete — one call for an app, against
 * a real server on its local-disk storage (the embedded default); the file then goes out with a message.
 */
describe("the SDK's upload, against Node on the embedded default", () => {
  let server: ServerProcess;
  const clients: ParleyClient[] = [];

  beforeAll(async () => {
    // Local storage's upload and download URLs are on PUBLIC_URL: the server's own address, so a known port.
    const port = await freePort();
    server = await startServer("node", { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    for (const client of clients) client.realtime.disconnect();
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  async function signedUp(): Promise<ParleyClient> {
    const parley = createParleyClient({ url: server.url, WebSocket: WebSocket as never });
    const username = uniqueUsername("up");
    await parley.register({ email: `${username}@example.test`, username, password: "correct horse battery staple" });
    clients.push(parley);
    return parley;
  }

  it("uploads a File, reports progress to the end, and sends it as an image message another member can download", async () => {
    const [ana, bo] = [await signedUp(), await signedUp()];
    const room = await ana.api.rooms.create.mutate({ name: "photos", kind: "public" });
    await bo.api.rooms.join.mutate({ roomId: room.id });
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#3366cc" } }).png().toBuffer();
    const progress: number[] = [];

    const file = await ana.upload({
      file: new File([png], "sky.png", { type: "image/png" }),
      purpose: "attachment",
      roomId: room.id,
      onProgress: (sent) => progress.push(sent),
    });
    expect(file).toMatchObject({ status: "ready", filename: "sky.png", contentType: "image/png", width: 300, height: 200, size: png.byteLength });
    expect(progress.at(-1)).toBe(png.byteLength);

    ana.realtime.connect();
    const message = await ana.realtime.send(room.id, "", { attachments: [file.id] });
    expect(message).toMatchObject({ kind: "image", body: "", attachments: [{ fileId: file.id, filename: "sky.png", width: 300, height: 200 }] });

    const { url } = await bo.api.files.url.query({ fileId: file.id });
    const download = await fetch(url);
    expect(download.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await download.arrayBuffer()).equals(png)).toBe(true);
  });

  it("uploads a Blob under the name given, and rejects content that is not what it claims with the server's typed error", async () => {
    const ana = await signedUp();
    const room = await ana.api.rooms.create.mutate({ name: "docs", kind: "private" });
    const pdf = await ana.upload({ file: new Blob([PDF], { type: "application/pdf" }), filename: "plan.pdf", purpose: "attachment", roomId: room.id });
    expect(pdf).toMatchObject({ filename: "plan.pdf", contentType: "application/pdf", status: "ready" });

    const lie = await ana.upload({ file: new Blob([PDF]), filename: "plan.png", contentType: "image/png", purpose: "attachment", roomId: room.id }).catch((error: unknown) => error);
    expect(lie).toBeInstanceOf(TRPCClientError);
    expect((lie as TRPCClientError<never>).data).toMatchObject({ code: "BAD_REQUEST", reason: "FILE_CONTENT" });
    await expect(ana.upload({ file: new Blob([PDF]), filename: "x", purpose: "attachment", roomId: room.id })).rejects.toThrow(/pass contentType/);
  });
});
