import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3StorageConfig } from "../../src/infra/storage/s3.ts";

/**
 * The S3 server the tests use: S3_ENDPOINT/S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY from the environment, else the
 * s3.env that `scripts/radosgw.sh up` writes. Null when there is none (callers fail under CI=true, skip loudly else).
 */
export function testS3Settings(): Omit<S3StorageConfig, "bucket"> | null {
  let vars: Record<string, string | undefined> = process.env;
  if (!(vars.S3_ENDPOINT && vars.S3_ACCESS_KEY_ID && vars.S3_SECRET_ACCESS_KEY)) {
    const file = join(process.env.RGW_DIR ?? join(process.env.TMPDIR ?? tmpdir(), "parley-radosgw"), "s3.env");
    if (!existsSync(file)) return null;
    const lines = readFileSync(file, "utf8").split("\n").filter((line) => line.includes("="));
    vars = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
  }
  return {
    endpoint: vars.S3_ENDPOINT ?? null,
    region: vars.S3_REGION ?? "us-east-1",
    accessKeyId: vars.S3_ACCESS_KEY_ID ?? "",
    secretAccessKey: vars.S3_SECRET_ACCESS_KEY ?? "",
    forcePathStyle: vars.S3_FORCE_PATH_STYLE !== "false",
  };
}

export const NO_S3_SERVER = "no S3 server: run `scripts/radosgw.sh up` (or set S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY)";
