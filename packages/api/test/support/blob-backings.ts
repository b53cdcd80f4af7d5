import type { Env } from "@ticketgen/shared";
import { startS3Server } from "../../../shared/test/support/s3-server.ts";

/** What a stack's blob store runs on: the settings that select it, and how to stop it. */
export interface BlobBacking {
  env: Env;
  close(): Promise<void>;
}

/** The local directory (the stack's default BLOB_DIR) and an S3 server on loopback, for `describe.each`. */
export const BLOB_BACKINGS: Array<{ name: string; store: () => Promise<BlobBacking> }> = [
  { name: "local", store: async () => ({ env: {}, close: async () => {} }) },
  {
    name: "s3",
    store: async () => {
      const server = await startS3Server("tickets");
      return {
        env: {
          BLOB_STORE: "s3",
          S3_BUCKET: "tickets",
          S3_ENDPOINT: server.endpoint,
          S3_FORCE_PATH_STYLE: "true",
          S3_ACCESS_KEY_ID: server.accessKeyId,
          S3_SECRET_ACCESS_KEY: "S3RVER",
        },
        close: () => server.close(),
      };
    },
  },
];
