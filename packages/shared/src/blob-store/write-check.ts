import path from "node:path";
import { EXIT_CONFIG, EXIT_UNAVAILABLE, firstLine, StartupError } from "../startup-error.ts";
import { withTimeout } from "../with-timeout.ts";
import type { BlobStore, BlobStoreOptions } from "./blob-store.ts";

/**
 * Written at every worker start, never read nor deleted (a worker may lack the right to delete):
 * one small object, outside the `tickets/` and `batches/` prefixes the reaper looks after.
 */
export const WRITE_CHECK_KEY = "health/write-check";
/** An S3 endpoint that accepts connections and never answers would hold the start-up forever. */
const WRITE_CHECK_TIMEOUT_MS = 10_000;

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOSPC",
  "EDQUOT",
  "EIO",
]);
const CREDENTIAL_ERRORS = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "CredentialsProviderError",
]);
const REGION_ERRORS = new Set(["PermanentRedirect", "AuthorizationHeaderMalformed"]);

class NoAnswer extends Error {
  readonly code = "ETIMEDOUT";
}

/**
 * Resolves once the blob store took a small write; otherwise rejects with a one-line
 * StartupError naming the setting to correct: 78 when a setting is wrong, 69 when the store is
 * unreachable or full. A worker that cannot store PDFs would take render jobs it can never finish.
 */
export async function checkWritable(store: BlobStore, options: BlobStoreOptions): Promise<void> {
  try {
    await withTimeout(store.put(WRITE_CHECK_KEY, new TextEncoder().encode("ok\n"), "text/plain"), WRITE_CHECK_TIMEOUT_MS, () => {
      throw new NoAnswer(`no answer within ${WRITE_CHECK_TIMEOUT_MS} ms`);
    });
  } catch (error) {
    throw writeRefused(error, options);
  }
}

function writeRefused(error: unknown, options: BlobStoreOptions): StartupError {
  const why = firstLine(error);
  const { name, code } = error as { name?: string; code?: string };
  const unavailable = code !== undefined && UNAVAILABLE_CODES.has(code);
  const problem = (message: string) => new StartupError(message, unavailable ? EXIT_UNAVAILABLE : EXIT_CONFIG, { cause: error });
  if (options.kind === "local") {
    return problem(
      `BLOB_DIR: ${path.resolve(options.dir)} cannot be written (${why}); make it a writable directory or set BLOB_DIR to one`,
    );
  }
  const where = `bucket ${options.bucket} at ${options.endpoint ?? `AWS ${options.region}`}`;
  if (unavailable) return problem(`S3_ENDPOINT: ${where} is unreachable (${why}); start the store or correct S3_ENDPOINT`);
  if (name === "NoSuchBucket") return problem(`S3_BUCKET: ${where} does not exist (${why}); create it or correct S3_BUCKET`);
  if (name && CREDENTIAL_ERRORS.has(name)) {
    return problem(
      `S3_ACCESS_KEY_ID: ${where} refuses writes with these credentials (${name}: ${why}); set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (or the pod's identity) to credentials allowed to write there`,
    );
  }
  if (name && REGION_ERRORS.has(name)) return problem(`S3_REGION: ${where} is in another region (${why}); set S3_REGION to the bucket's`);
  return problem(
    `S3_BUCKET: ${where} refuses writes (${name ? `${name}: ` : ""}${why}); check S3_BUCKET, S3_ENDPOINT, S3_REGION and the credentials`,
  );
}
