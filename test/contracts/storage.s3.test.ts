import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { describe, it } from "vitest";
import { createS3Storage } from "../../src/infra/storage/s3.ts";
import { describeStorageContract } from "./storage.contract.ts";

/**
 * Runs against a real S3 that enforces signatures and POST policies: radosgw from scripts/radosgw.sh (which writes
 * its s3.env), or any S3_ENDPOINT/S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY in the environment. Under CI=true a missing
 * server fails; locally the suite is skipped with a loud message (never passed silently).
 */
function s3Settings(): Record<string, string> | null {
  if (process.env.S3_ENDPOINT && process.env.S3_ACCESS_KEY_ID && process.env.S3_SECRET_ACCESS_KEY) return { ...process.env } as Record<string, string>;
  const file = join(process.env.RGW_DIR ?? join(process.env.TMPDIR ?? tmpdir(), "parley-radosgw"), "s3.env");
  if (!existsSync(file)) return null;
  const lines = readFileSync(file, "utf8").split("\n").filter((line) => line.includes("="));
  return Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
}

const settings = s3Settings();
if (!settings) {
  const why = "no S3 server: run `scripts/radosgw.sh up` (or set S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY)";
  if (process.env.CI === "true") {
    describe("FileStorage contract: S3", () => {
      it("needs a real S3 server under CI", () => {
        throw new Error(why);
      });
    });
  } else {
    console.warn(`\n*** SKIPPED: the S3 storage contract — ${why} ***\n`);
    describe.skip("FileStorage contract: S3 (skipped: no server)", () => {
      it("needs a real S3 server", () => {});
    });
  }
} else {
  describeStorageContract(`S3 at ${settings.S3_ENDPOINT}`, async () => {
    const bucket = `parley-test-${crypto.randomUUID().slice(0, 8)}`;
    const storage = createS3Storage({
      endpoint: settings.S3_ENDPOINT ?? null,
      region: settings.S3_REGION ?? "us-east-1",
      bucket,
      accessKeyId: settings.S3_ACCESS_KEY_ID ?? "",
      secretAccessKey: settings.S3_SECRET_ACCESS_KEY ?? "",
      forcePathStyle: settings.S3_FORCE_PATH_STYLE !== "false",
    });
    await storage.client.send(new CreateBucketCommand({ Bucket: bucket }));
    return {
      storage,
      tamperUpload: (upload) => {
        const signature = upload.fields["X-Amz-Signature"] ?? "";
        const altered = `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`;
        return { ...upload, fields: { ...upload.fields, "X-Amz-Signature": altered } };
      },
      close: async () => storage.close(),
    };
  });
}
