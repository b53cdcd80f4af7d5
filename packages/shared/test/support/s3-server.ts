import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import S3rver from "s3rver";

export interface S3Server {
  endpoint: string;
  /** The one access key id s3rver knows; any secret key signs for it (see below). */
  accessKeyId: string;
  close(): Promise<void>;
}

/**
 * s3rver on a loopback port with one bucket. It accepts any well-formed signature made with
 * its access key id, so a test can sign with a secret key of its own and look for it in logs.
 */
export async function startS3Server(bucket: string): Promise<S3Server> {
  const directory = await mkdtemp(path.join(tmpdir(), "ticketgen-s3rver-"));
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
    allowMismatchedSignatures: true,
  });
  const { port } = await server.run();
  return { endpoint: `http://127.0.0.1:${port}`, accessKeyId: "S3RVER", close: () => server.close() };
}
