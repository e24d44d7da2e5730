import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { serve } from "@hono/node-server";
import { createLocalStorage } from "../../src/infra/storage/local.ts";
import { createS3Storage } from "../../src/infra/storage/s3.ts";
import type { FileStorage } from "../../src/infra/storage/storage.ts";
import { fileRoutes } from "../../src/transport/http/file-routes.ts";
import { NO_S3_SERVER, testS3Settings } from "./s3.ts";

export type StorageKind = "local" | "s3";

/**
 * The storages domain specs run on: local disk (served by Parley's own routes on a port of the test's) always; S3
 * when a server is configured, and under CI=true also when it is not (opening it then fails, loudly).
 */
export const storageKinds: StorageKind[] = testS3Settings() || process.env.CI === "true" ? ["local", "s3"] : ["local"];
if (!storageKinds.includes("s3")) console.warn(`\n*** SKIPPED: file specs on S3 — ${NO_S3_SERVER} ***\n`);

export async function openTestStorage(kind: StorageKind): Promise<{ storage: FileStorage; close(): Promise<void> }> {
  if (kind === "s3") {
    const settings = testS3Settings();
    if (!settings) throw new Error(NO_S3_SERVER);
    const bucket = `parley-test-${crypto.randomUUID().slice(0, 8)}`;
    const storage = createS3Storage({ ...settings, bucket });
    await storage.client.send(new CreateBucketCommand({ Bucket: bucket }));
    return { storage, close: async () => storage.close() };
  }
  const root = await mkdtemp(join(tmpdir(), "parley-files-"));
  const config = { root, publicUrl: "", secret: "a test secret of enough length" };
  const storage = createLocalStorage(config);
  const server = serve({ fetch: fileRoutes({ storage, allowedOrigins: [] }).fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  config.publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    storage,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await rm(root, { recursive: true, force: true });
    },
  };
}
