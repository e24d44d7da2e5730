import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NotFound,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { contentDisposition, type FileStorage, type StoredObject } from "./storage.ts";

export interface S3StorageConfig {
  /** Null: AWS's own endpoint for the region. */
  endpoint: string | null;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style URLs (http://host/bucket/key): needed by radosgw, MinIO and most self-hosted servers. */
  forcePathStyle: boolean;
}

/** S3 or anything that speaks it (radosgw, R2, Tigris on Fly): presigned POST up, presigned GET down. */
export function createS3Storage(config: S3StorageConfig): FileStorage & {
  client: S3Client;
  /**
   * The origin browsers upload to and download from: the SDK's own choice (the bucket as a subdomain, or path style
   * for a forced or dotted bucket name), read off a presigned URL — signing is local, nothing is sent.
   */
  browserOrigin(): Promise<string>;
  close(): void;
} {
  const client = new S3Client({
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    // The default (WHEN_SUPPORTED) signs a CRC32 of an empty body into presigned URLs, which real S3, R2 and MinIO
    // then refuse to match against the upload.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const Bucket = config.bucket;
  const isMissing = (error: unknown): boolean =>
    error instanceof NotFound || error instanceof NoSuchKey || (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404);

  return {
    client,
    close: () => client.destroy(),
    browserOrigin: async () => new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket, Key: "origin-probe" }), { expiresIn: 60 })).origin,
    async createUpload(policy) {
      const post = await createPresignedPost(client, {
        Bucket,
        Key: policy.key,
        Expires: policy.expiresInSeconds,
        Conditions: [
          ["content-length-range", policy.minBytes, policy.maxBytes],
          ["eq", "$Content-Type", policy.contentType],
        ],
        Fields: { "Content-Type": policy.contentType },
      });
      return { url: post.url, fields: post.fields, expiresAt: new Date(Date.now() + policy.expiresInSeconds * 1000) };
    },
    async head(key): Promise<StoredObject | null> {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        return { size: out.ContentLength ?? 0, contentType: out.ContentType ?? null };
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },
    async readStart(key, bytes) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket, Key: key, Range: `bytes=0-${bytes - 1}` }));
        if (!out.Body) return new Uint8Array();
        return await out.Body.transformToByteArray();
      } catch (error) {
        if (isMissing(error)) return null;
        // An empty object has no byte 0: S3 answers 416 to any range.
        if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 416) return new Uint8Array();
        throw error;
      }
    },
    async put(key, body, contentType) {
      await client.send(new PutObjectCommand({ Bucket, Key: key, Body: body, ContentType: contentType }));
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
    async downloadUrl(key, options) {
      return getSignedUrl(
        client,
        new GetObjectCommand({ Bucket, Key: key, ResponseContentDisposition: contentDisposition(options) }),
        { expiresIn: options.expiresInSeconds },
      );
    },
  };
}
