import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, opendir, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { BlobNotFoundError, type BlobStore, type StoredBlob } from "./blob-store.ts";

const CHUNK_SIZE = 64 * 1024;

/** Blobs as files under one directory; the key's "/"-separated segments become subdirectories. */
export class LocalBlobStore implements BlobStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = path.resolve(dir);
  }

  // The content type is not stored: the key's extension already says what the file is.
  async put(key: string, body: Uint8Array): Promise<void> {
    const file = this.#file(key);
    await mkdir(path.dirname(file), { recursive: true });
    // A unique temp file in the same directory, renamed into place: readers see the old or the
    // new object, never half of one, and concurrent puts of one key cannot interleave their bytes.
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(8).toString("hex")}.tmp`);
    try {
      await writeFile(temp, body, { flush: true }); // on disk before the rename can make it visible
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async get(key: string): Promise<AsyncIterable<Uint8Array>> {
    const file = this.#file(key);
    // Opened here rather than lazily by the stream, so a missing key rejects get() itself; the
    // open handle also keeps reading the same object if it is replaced or deleted meanwhile.
    const handle = await open(file).catch((error: unknown) => {
      throw isAbsent(error) ? new BlobNotFoundError(key) : error;
    });
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new BlobNotFoundError(key);
    }
    return createReadStream(file, { fd: handle, highWaterMark: CHUNK_SIZE });
  }

  async size(key: string): Promise<number | undefined> {
    const stats = await stat(this.#file(key)).catch((error: unknown) => {
      if (isAbsent(error)) return undefined;
      throw error;
    });
    return stats?.isFile() ? stats.size : undefined;
  }

  async delete(key: string): Promise<void> {
    await unlink(this.#file(key)).catch((error: unknown) => {
      if (!isAbsent(error)) throw error;
    });
  }

  /** Temp files of a put that never finished are listed too, so that a sweep can remove them. */
  async *list(prefix: string): AsyncIterable<StoredBlob> {
    const root = path.join(this.#dir, ...validKeySegments(prefix.replace(/\/$/, "")));
    // Streamed: a store of millions of files is never held in memory at once.
    const entries = await opendir(root, { recursive: true }).catch((error: unknown) => {
      if (isAbsent(error)) return [];
      throw error;
    });
    for await (const entry of entries) {
      if (!entry.isFile()) continue;
      const file = path.join(entry.parentPath, entry.name);
      const stats = await stat(file).catch((error: unknown) => {
        if (isAbsent(error)) return undefined; // deleted since the listing
        throw error;
      });
      if (stats) yield { key: path.relative(this.#dir, file).split(path.sep).join("/"), lastModified: stats.mtime };
    }
  }

  #file(key: string): string {
    return path.join(this.#dir, ...validKeySegments(key));
  }
}

function isAbsent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  // ENOTDIR: a parent segment of the key is itself an object, so this key cannot exist.
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Keys are untrusted enough that they must never name a file outside the store's directory. */
function validKeySegments(key: string): string[] {
  const invalid = (reason: string) => new Error(`invalid blob key ${JSON.stringify(key)}: ${reason}`);
  if (key.includes("\0")) throw invalid("contains NUL");
  if (key.includes("\\")) throw invalid("contains a backslash");
  if (key.startsWith("/")) throw invalid("is absolute");
  const segments = key.split("/");
  if (segments.some((segment) => segment === "")) throw invalid("has an empty segment");
  if (segments.some((segment) => segment === "." || segment === "..")) throw invalid('has a "." or ".." segment');
  return segments;
}
