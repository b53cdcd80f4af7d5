import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import { BlobNotFoundError, type BlobStore, type BlobStoreOptions, type StoredBlob } from "./blob-store.ts";

/** Blobs as objects in one S3 (or S3-compatible) bucket, keyed by the blob key. */
export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(options: Extract<BlobStoreOptions, { kind: "s3" }>) {
    const { accessKeyId, secretAccessKey } = options;
    if (!accessKeyId !== !secretAccessKey) {
      throw new Error("S3 blob store: give both accessKeyId and secretAccessKey, or neither to use the default credential chain");
    }
    this.#bucket = options.bucket;
    this.#client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
      // Only send/verify the newer flexible checksums when an operation requires them: many
      // S3-compatible servers reject or ignore the x-amz-checksum-* headers and aws-chunked bodies.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async get(key: string): Promise<AsyncIterable<Uint8Array>> {
    const { Body } = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key })).catch((error: unknown) => {
      throw isNotFound(error) ? new BlobNotFoundError(key) : error;
    });
    if (!Body) throw new Error(`S3 returned no body for blob ${key}`);
    // In Node the SDK's body is an http.IncomingMessage: a Readable, consumed lazily as it arrives.
    return Body as Readable;
  }

  async size(key: string): Promise<number | undefined> {
    const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key })).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    return head?.ContentLength;
  }

  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }

  async *list(prefix: string): AsyncIterable<StoredBlob> {
    for await (const page of paginateListObjectsV2({ client: this.#client }, { Bucket: this.#bucket, Prefix: prefix })) {
      for (const object of page.Contents ?? []) {
        if (object.Key && object.LastModified) yield { key: object.Key, lastModified: object.LastModified };
      }
    }
  }
}

/**
 * GET of a missing key fails with NoSuchKey; HEAD has no error body, so the SDK calls any 404
 * "NotFound". A missing bucket on GET (NoSuchBucket) is deliberately not a missing blob.
 */
function isNotFound(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  return name === "NoSuchKey" || name === "NotFound";
}
