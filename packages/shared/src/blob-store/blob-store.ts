/** Where rendered ticket PDFs are kept. */
export interface BlobStore {
  /** Stores the bytes under key, replacing any previous object. Keys look like "tickets/<tenant>/<ticketId>/<sha256>.pdf". */
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** The object's bytes as a stream of chunks (each at most ~64 KiB), read lazily so a 50 MB batch PDF never sits in memory. Throws BlobNotFoundError when the key does not exist. */
  get(key: string): Promise<AsyncIterable<Uint8Array>>;
  /** Size in bytes, or undefined when absent. */
  size(key: string): Promise<number | undefined>;
  /** No error when absent. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix` (a whole "/"-ended segment path), in no set order. */
  list(prefix: string): AsyncIterable<StoredBlob>;
}

export interface StoredBlob {
  key: string;
  /** When the object was last written. */
  lastModified: Date;
}

export class BlobNotFoundError extends Error {
  override readonly name = "BlobNotFoundError";

  constructor(readonly key: string) {
    super(`blob ${key} not found`);
  }
}

export type BlobStoreOptions =
  | { kind: "local"; dir: string }
  | {
      kind: "s3";
      bucket: string;
      endpoint?: string;
      region: string;
      accessKeyId?: string;
      secretAccessKey?: string;
      forcePathStyle: boolean;
    };
