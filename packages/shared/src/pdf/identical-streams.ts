import { createHash, type Hash } from "node:crypto";
import { PDFArray, PDFDict, PDFName, PDFRef, PDFStream, type PDFContext, type PDFObject } from "pdf-lib";
import { STRUCT_PARENT, STRUCT_PARENTS } from "./structure.ts";

/** Smaller streams are written again rather than remembered: not worth an entry. */
const MIN_STREAM_BYTES = 1024;
/** Streams remembered per output (about 150 bytes each), so memory stays bounded however long the output. */
const MAX_REMEMBERED = 65_536;
/** Objects one digest may visit: a stream reaching further (into a structure tree, say) is not shared. */
const MAX_VISITED = 2_000;

class NotShareable extends Error {}

/**
 * The streams already written to one output, by content: what lets a logo or font that every
 * source PDF carries be written once. Keyed by a digest of the stream's dictionary and raw
 * (still encoded) bytes, with every object it references digested in turn, so two streams share
 * an output object only if they and all they reach are the same. Holds at most MAX_REMEMBERED
 * entries; past that, new streams are written without being remembered.
 */
export class IdenticalStreams {
  private readonly written = new Map<string, number>();

  /** The output object number of a stream with this digest, if one was written. */
  find(digest: string): number | undefined {
    return this.written.get(digest);
  }

  remember(digest: string, objectNumber: number): void {
    if (this.written.size < MAX_REMEMBERED) this.written.set(digest, objectNumber);
  }
}

/**
 * Digests of the streams of one source PDF (see IdenticalStreams), each computed once. A stream
 * is not shareable when it is small, is a page's content, references a page, carries a parent
 * tree key (/StructParent, /StructParents: renumbered per source) or reaches too far.
 */
export class StreamDigests {
  private readonly digests = new Map<PDFRef, string | null>();
  private visited = 0;

  constructor(
    private readonly src: PDFContext,
    /** Page objects and their content streams. */
    private readonly excluded: ReadonlySet<PDFRef>,
  ) {}

  /** The digest of the stream at `ref`, or undefined when it is not to be shared. */
  of(ref: PDFRef): string | undefined {
    if (this.excluded.has(ref)) return undefined;
    const object = this.src.lookup(ref);
    if (!(object instanceof PDFStream) || object.getContentsSize() < MIN_STREAM_BYTES) return undefined;
    this.visited = 0;
    try {
      return this.digest(ref, new Set());
    } catch (error) {
      if (error instanceof NotShareable) return undefined;
      throw error;
    }
  }

  private digest(ref: PDFRef, path: Set<PDFRef>): string {
    const known = this.digests.get(ref);
    if (known === null) throw new NotShareable();
    if (known !== undefined) return known;
    if (this.excluded.has(ref) || path.has(ref) || ++this.visited > MAX_VISITED) throw new NotShareable();
    path.add(ref);
    try {
      const hash = createHash("sha256");
      this.write(hash, this.src.lookup(ref), path);
      const digest = hash.digest("base64");
      this.digests.set(ref, digest);
      return digest;
    } catch (error) {
      // Not remembered on a cycle or the visit cap: another path may yet digest it.
      if (error instanceof NotShareable && !path.has(ref)) this.digests.set(ref, null);
      throw error;
    } finally {
      path.delete(ref);
    }
  }

  private write(hash: Hash, object: PDFObject | undefined, path: Set<PDFRef>): void {
    if (object === undefined) {
      hash.update("null ");
    } else if (object instanceof PDFRef) {
      hash.update(`R${this.digest(object, path)} `);
    } else if (object instanceof PDFStream) {
      this.dict(hash, object.dict, path);
      const contents = object.getContents();
      hash.update(`stream ${contents.length} `);
      hash.update(contents);
    } else if (object instanceof PDFDict) {
      this.dict(hash, object, path);
    } else if (object instanceof PDFArray) {
      hash.update("[ ");
      for (let i = 0; i < object.size(); i++) this.write(hash, object.get(i), path);
      hash.update("] ");
    } else {
      hash.update(`${object.toString()} `);
    }
  }

  private dict(hash: Hash, dict: PDFDict, path: Set<PDFRef>): void {
    hash.update("<< ");
    for (const [key, value] of dict.entries()) {
      if (key === STRUCT_PARENT || key === STRUCT_PARENTS) throw new NotShareable();
      if (key === PDFName.Length) continue;
      hash.update(`${key.toString()} `);
      this.write(hash, value, path);
    }
    hash.update(">> ");
  }
}
