import type { BlobStore, BlobStoreOptions } from "./blob-store.ts";
import { LocalBlobStore } from "./local-blob-store.ts";
import { S3BlobStore } from "./s3-blob-store.ts";

export function createBlobStore(options: BlobStoreOptions): BlobStore {
  switch (options.kind) {
    case "local":
      return new LocalBlobStore(options.dir);
    case "s3":
      return new S3BlobStore(options);
  }
}
