import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { describe, it } from "vitest";
import { createS3Storage } from "../../src/infra/storage/s3.ts";
import { NO_S3_SERVER, testS3Settings } from "../support/s3.ts";
import { describeStorageContract } from "./storage.contract.ts";

/**
 * Runs against a real S3 that enforces signatures and POST policies (radosgw from scripts/radosgw.sh, or the
 * S3_* environment). Under CI=true a missing server fails; locally the suite is skipped with a loud message.
 */
const settings = testS3Settings();
if (!settings) {
  if (process.env.CI === "true") {
    describe("FileStorage contract: S3", () => {
      it("needs a real S3 server under CI", () => {
        throw new Error(NO_S3_SERVER);
      });
    });
  } else {
    console.warn(`\n*** SKIPPED: the S3 storage contract — ${NO_S3_SERVER} ***\n`);
    describe.skip("FileStorage contract: S3 (skipped: no server)", () => {
      it("needs a real S3 server", () => {});
    });
  }
} else {
  describeStorageContract(`S3 at ${settings.endpoint}`, async () => {
    const bucket = `parley-test-${crypto.randomUUID().slice(0, 8)}`;
    const storage = createS3Storage({ ...settings, bucket });
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
