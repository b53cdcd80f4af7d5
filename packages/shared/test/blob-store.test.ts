import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobNotFoundError, createBlobStore, type BlobStore } from "../src/blob-store/index.ts";

const CHUNK_LIMIT = 64 * 1024;
const PDF = "application/pdf";
const S3_CREDENTIALS = { region: "us-east-1", accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

interface Started {
  store: BlobStore;
  stop(): Promise<void>;
}

async function startLocal(): Promise<Started & { dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "blob-store-local-"));
  return { dir, store: createBlobStore({ kind: "local", dir }), stop: () => rm(dir, { recursive: true, force: true }) };
}

async function startS3(): Promise<Started & { endpoint: string }> {
  const directory = await mkdtemp(path.join(tmpdir(), "blob-store-s3rver-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, configureBuckets: [{ name: "tickets" }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const store = createBlobStore({ kind: "s3", bucket: "tickets", endpoint, forcePathStyle: true, ...S3_CREDENTIALS });
  return {
    endpoint,
    store,
    stop: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

let keys = 0;
/** A fresh key per test, shaped like the real ones. */
function newKey(): string {
  return `tickets/acme/ticket-${++keys}/${randomBytes(32).toString("hex")}.pdf`;
}

async function readChunks(store: BlobStore, key: string): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(Buffer.from(chunk));
  return chunks;
}

async function read(store: BlobStore, key: string): Promise<Buffer> {
  return Buffer.concat(await readChunks(store, key));
}

describe.each([
  { name: "local", start: startLocal, boundedChunks: true },
  { name: "s3", start: startS3, boundedChunks: false },
])("$name blob store", ({ start, boundedChunks }) => {
  let started: Started;
  const store = () => started.store;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(() => started?.stop());

  it("round-trips a 200 KB body", async () => {
    const key = newKey();
    const body = randomBytes(200 * 1024);
    await store().put(key, body, PDF);
    const chunks = await readChunks(store(), key);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
    if (boundedChunks) {
      expect(chunks.length).toBeGreaterThan(1);
      for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(CHUNK_LIMIT);
    }
  });

  it("replaces an existing key", async () => {
    const key = newKey();
    await store().put(key, randomBytes(100_000), PDF);
    const replacement = randomBytes(1234);
    await store().put(key, replacement, PDF);
    expect((await read(store(), key)).equals(replacement)).toBe(true);
    expect(await store().size(key)).toBe(1234);
  });

  it("reports the size, and undefined for a missing key", async () => {
    const key = newKey();
    await store().put(key, randomBytes(4321), PDF);
    expect(await store().size(key)).toBe(4321);
    expect(await store().size(newKey())).toBeUndefined();
  });

  it("stores an empty body", async () => {
    const key = newKey();
    await store().put(key, new Uint8Array(0), PDF);
    expect(await store().size(key)).toBe(0);
    expect((await read(store(), key)).length).toBe(0);
  });

  it("get of a missing key rejects with BlobNotFoundError", async () => {
    const key = newKey();
    const error = await store()
      .get(key)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BlobNotFoundError);
    expect((error as Error).message).toBe(`blob ${key} not found`);
  });

  it("delete removes the object", async () => {
    const key = newKey();
    await store().put(key, randomBytes(10), PDF);
    await store().delete(key);
    await expect(store().get(key)).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store().size(key)).toBeUndefined();
  });

  it("delete of a missing key is fine", async () => {
    await expect(store().delete(newKey())).resolves.toBeUndefined();
  });

  it("deleting twice is fine", async () => {
    const key = newKey();
    await store().put(key, randomBytes(10), PDF);
    await store().delete(key);
    await expect(store().delete(key)).resolves.toBeUndefined();
    expect(await store().size(key)).toBeUndefined();
  });

  it("lists the objects under a prefix with when they were written", async () => {
    const prefix = `tickets/listed-${++keys}/`;
    const before = Date.now() - 2000; // S3 timestamps have whole seconds
    const listed = [`${prefix}a/1.pdf`, `${prefix}a/2.pdf`, `${prefix}b/c/3.pdf`];
    for (const key of [...listed, `tickets/listed-${keys}x/other.pdf`]) await store().put(key, randomBytes(10), PDF);
    await store().delete(listed[1]!);
    const found: Array<{ key: string; lastModified: Date }> = [];
    for await (const blob of store().list(prefix)) found.push(blob);
    expect(found.map((blob) => blob.key).sort()).toEqual([listed[0], listed[2]]);
    for (const blob of found) {
      expect(blob.lastModified.getTime()).toBeGreaterThanOrEqual(before);
      expect(blob.lastModified.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
    }
  });

  it("lists nothing under a prefix with no object", async () => {
    const found: string[] = [];
    for await (const blob of store().list(`tickets/empty-${++keys}/`)) found.push(blob.key);
    expect(found).toEqual([]);
  });

  it("keeps nested keys apart", async () => {
    const parent = `tickets/nested-${++keys}/a.pdf`;
    const child = `tickets/nested-${keys}/a/b/c/d.pdf`;
    const sibling = `tickets/nested-${keys}/a/b/e.pdf`;
    for (const key of [parent, child, sibling]) await store().put(key, Buffer.from(key), PDF);
    for (const key of [parent, child, sibling]) expect((await read(store(), key)).toString()).toBe(key);
  });

  it("a key prefix is not an object", async () => {
    const key = `tickets/prefix-${++keys}/t/x.pdf`;
    await store().put(key, randomBytes(10), PDF);
    const prefix = `tickets/prefix-${keys}/t`;
    await expect(store().get(prefix)).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store().size(prefix)).toBeUndefined();
  });
});

describe("local blob store only", () => {
  let local: Awaited<ReturnType<typeof startLocal>>;
  beforeAll(async () => {
    local = await startLocal();
  });
  afterAll(() => local?.stop());

  async function filesUnder(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(local.dir, path.join(entry.parentPath, entry.name)))
      .sort();
  }

  it.each(["../x", "/etc/passwd", "a//b", "a/../../x", "a/./b", "", "a/", "a\\b", "..\\x", "a\0b"])(
    "rejects the key %j, which could escape the directory",
    async (key) => {
      for (const operation of [
        () => local.store.put(key, Buffer.from("x"), PDF),
        () => local.store.get(key),
        () => local.store.size(key),
        () => local.store.delete(key),
      ]) {
        await expect(operation()).rejects.toThrow(/^invalid blob key .*: /);
      }
    },
  );

  it("leaves no temp files behind", async () => {
    const dir = `tickets/tidy-${++keys}`;
    await local.store.put(`${dir}/a.pdf`, randomBytes(1000), PDF);
    await local.store.put(`${dir}/a.pdf`, randomBytes(2000), PDF);
    await local.store.put(`${dir}/b/c.pdf`, randomBytes(3000), PDF);
    expect(await filesUnder(path.join(local.dir, dir))).toEqual([`${dir}/a.pdf`, `${dir}/b/c.pdf`]);
  });

  it("concurrent puts of one key leave one complete object, and readers never see a partial one", async () => {
    const key = newKey();
    const bodies = Array.from({ length: 20 }, () => randomBytes(300 * 1024));
    const isOneOfBodies = (bytes: Buffer) => bodies.some((body) => body.equals(bytes));
    await local.store.put(key, bodies[0]!, PDF);

    let writing = true;
    const reads: boolean[] = [];
    const reader = async () => {
      while (writing) reads.push(isOneOfBodies(await read(local.store, key)));
    };
    const readers = [reader(), reader()];
    await Promise.all(bodies.map((body) => local.store.put(key, body, PDF)));
    writing = false;
    await Promise.all(readers);

    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every(Boolean)).toBe(true);
    expect(isOneOfBodies(await read(local.store, key))).toBe(true);
    expect(await filesUnder(path.join(local.dir, path.dirname(key)))).toEqual([key]);
  });
});

describe("s3 blob store only", () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(() => s3?.stop());

  it("stores the content type", async () => {
    const key = newKey();
    await s3.store.put(key, randomBytes(10), PDF);
    const { region, accessKeyId, secretAccessKey } = S3_CREDENTIALS;
    const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region, credentials: { accessKeyId, secretAccessKey } });
    const head = await client.send(new HeadObjectCommand({ Bucket: "tickets", Key: key }));
    client.destroy();
    expect(head.ContentType).toBe(PDF);
  });

  it("a missing bucket is an error, not a missing blob", async () => {
    const store = createBlobStore({ kind: "s3", bucket: "no-such-bucket", endpoint: s3.endpoint, forcePathStyle: true, ...S3_CREDENTIALS });
    const error = await store.get(newKey()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(BlobNotFoundError);
    expect((error as Error).name).toBe("NoSuchBucket");
  });

  it("refuses half a set of credentials", () => {
    expect(() =>
      createBlobStore({ kind: "s3", bucket: "tickets", region: "us-east-1", accessKeyId: "S3RVER", forcePathStyle: true }),
    ).toThrow(/both accessKeyId and secretAccessKey/);
  });
});
