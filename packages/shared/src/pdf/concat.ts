import { randomBytes } from "node:crypto";
import { PDFContext, PDFHexString, PDFRef } from "pdf-lib";
import { loadPdf, PageCopier } from "./page-copier.ts";

/** The bytes of one source PDF: whole, or as chunks (e.g. a BlobStore.get stream). */
export type PdfBytes = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * One source of {@link concatPdfs}: the PDF's bytes, or a function fetching them, called
 * only when the concatenation reaches that source (so `keys.map((k) => () => store.get(k))`
 * never holds more than one source PDF in memory).
 */
export type ConcatPdfSource = Uint8Array | (() => Promise<PdfBytes>);

export interface ConcatPdfsOptions {
  /** Document title (Info dictionary /Title). */
  title?: string;
}

/** Object numbers reserved for the objects written last. */
const PAGES_OBJECT = 1;
const CATALOG_OBJECT = 2;
const FIRST_FREE_OBJECT = 3;

/** Source objects are yielded in chunks of about this size (a single object may exceed it). */
const CHUNK_BYTES = 256 * 1024;

/** Classic xref offsets have 10 digits. */
const MAX_OFFSET = 9_999_999_999;

const latin1 = (text: string): Uint8Array => Buffer.from(text, "latin1");

/**
 * Concatenates the pages of `sources`, in order, into one PDF streamed as it is produced.
 *
 * Sources are loaded one at a time; each one's pages and the objects they reference are
 * renumbered into a single global object-number space, written out as classic indirect
 * objects and dropped before the next source is loaded. Across sources only the byte offset
 * of every object and the object number of every page are kept, so memory stays bounded by
 * the largest single source (not the whole output). The page tree (object 1), catalog
 * (object 2), Info dictionary, xref table and trailer are written at the end.
 *
 * Output chunks are about {@link CHUNK_BYTES} (larger when one object is); re-slice them if a
 * transport has a smaller message limit. Throws when there are no sources or no pages; an
 * error part-way (unreadable source) is thrown after some output was already yielded, so
 * the consumer must abort what it was sending.
 *
 * Carried: page contents, resources (fonts, images, XObjects), annotations (links between
 * pages of the output stay valid). Not carried: outlines, named destinations, AcroForm,
 * structure tree, page labels, per-source metadata.
 */
export async function* concatPdfs(
  sources: AsyncIterable<ConcatPdfSource> | Iterable<ConcatPdfSource>,
  options: ConcatPdfsOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  /** offsets[n] = byte offset of object n, 0 = free. */
  const offsets: number[] = [];
  const pageObjects: number[] = [];
  let largestObjectNumber = FIRST_FREE_OBJECT - 1;
  let position = 0;
  let sourceCount = 0;

  for await (const source of sources) {
    const index = sourceCount++;
    let bytes: Uint8Array;
    try {
      bytes = await readPdfBytes(source);
    } catch (error) {
      throw new Error(`concatPdfs: cannot read source #${index}: ${describe(error)}`, { cause: error });
    }
    let written: SerializedSource;
    try {
      written = await serializeSource(bytes, largestObjectNumber, position === 0 ? header() : undefined);
    } catch (error) {
      throw new Error(`concatPdfs: cannot copy the pages of source #${index}: ${describe(error)}`, { cause: error });
    }
    for (const [objectNumber, offset] of written.offsets) offsets[objectNumber] = position + offset;
    for (const page of written.pageObjects) pageObjects.push(page);
    largestObjectNumber = written.largestObjectNumber;
    for (const chunk of written.chunks) {
      position += chunk.length;
      yield chunk;
    }
    if (position > MAX_OFFSET) throw new Error("concatPdfs: output exceeds the 10 GB a classic xref table can address");
  }

  if (sourceCount === 0) throw new Error("concatPdfs: no source PDFs to concatenate");
  if (pageObjects.length === 0) throw new Error(`concatPdfs: the ${sourceCount} source PDF(s) have no pages`);

  // Page tree, catalog, Info.
  const tail: Uint8Array[] = [];
  const addObject = (objectNumber: number, body: string): void => {
    offsets[objectNumber] = position;
    const bytes = latin1(`${objectNumber} 0 obj\n${body}\nendobj\n`);
    tail.push(bytes);
    position += bytes.length;
  };
  const kids: string[] = [];
  for (let i = 0; i < pageObjects.length; i += 10) {
    kids.push(pageObjects.slice(i, i + 10).map((n) => `${n} 0 R`).join(" "));
  }
  addObject(PAGES_OBJECT, `<< /Type /Pages /Count ${pageObjects.length} /Kids [\n${kids.join("\n")}\n] >>`);
  addObject(CATALOG_OBJECT, `<< /Type /Catalog /Pages ${PAGES_OBJECT} 0 R >>`);
  let info = "";
  if (options.title !== undefined) {
    const infoObject = ++largestObjectNumber;
    addObject(infoObject, `<< /Title ${PDFHexString.fromText(options.title).toString()} >>`);
    info = ` /Info ${infoObject} 0 R`;
  }
  yield concatBytes(tail);

  // Cross-reference table: one subsection 0..size-1, unused numbers on the free list.
  const size = largestObjectNumber + 1;
  const xrefOffset = position;
  const free: number[] = [];
  for (let n = 1; n < size; n++) if (!offsets[n]) free.push(n);
  let nextFree = 0;
  const freeNext = new Map<number, number>();
  for (let i = free.length - 1; i >= 0; i--) {
    freeNext.set(free[i]!, nextFree);
    nextFree = free[i]!;
  }
  let lines = [`xref\n0 ${size}\n`, `${pad(nextFree)} 65535 f\r\n`];
  for (let n = 1; n < size; n++) {
    const offset = offsets[n];
    lines.push(offset ? `${pad(offset)} 00000 n\r\n` : `${pad(freeNext.get(n) ?? 0)} 00000 f\r\n`);
    if (lines.length >= 50_000) {
      yield latin1(lines.join(""));
      lines = [];
    }
  }
  const id = `<${randomBytes(16).toString("hex")}>`;
  lines.push(`trailer\n<< /Size ${size} /Root ${CATALOG_OBJECT} 0 R${info} /ID [${id} ${id}] >>\nstartxref\n${xrefOffset}\n%%EOF\n`);
  yield latin1(lines.join(""));
}

interface SerializedSource {
  chunks: Uint8Array[];
  /** Offsets relative to the first chunk. */
  offsets: [number, number][];
  pageObjects: number[];
  largestObjectNumber: number;
}

/**
 * Copies every page of one source into a fresh context numbered from after
 * `largestObjectNumber`, and serializes the copies. Nothing of the source survives the call
 * but the returned bytes and bookkeeping.
 */
async function serializeSource(
  bytes: Uint8Array,
  largestObjectNumber: number,
  prefix: Uint8Array | undefined,
): Promise<SerializedSource> {
  const src = await loadPdf(bytes);
  const dest = PDFContext.create();
  dest.largestObjectNumber = largestObjectNumber;
  const copier = new PageCopier(src.context, dest);
  const pages = src.getPages();
  // Numbers for the pages first, so that links between them map to the copies.
  const pageRefs = pages.map((page) => {
    const ref = dest.nextRef();
    copier.mapPage(page.ref, ref);
    return ref;
  });
  const parent = PDFRef.of(PAGES_OBJECT);
  pages.forEach((page, i) => dest.assign(pageRefs[i]!, copier.copyPage(page.node, parent)));

  const chunks: Uint8Array[] = [];
  const offsets: [number, number][] = [];
  let pending: Uint8Array[] = prefix ? [prefix] : [];
  let pendingBytes = prefix?.length ?? 0;
  let position = pendingBytes;
  for (const [ref, object] of dest.enumerateIndirectObjects()) {
    const head = latin1(`${ref.objectNumber} 0 obj\n`);
    const body = new Uint8Array(object.sizeInBytes());
    object.copyBytesInto(body, 0);
    offsets.push([ref.objectNumber, position]);
    for (const part of [head, body, OBJ_END]) {
      pending.push(part);
      pendingBytes += part.length;
      position += part.length;
    }
    if (pendingBytes >= CHUNK_BYTES) {
      chunks.push(concatBytes(pending));
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pendingBytes > 0) chunks.push(concatBytes(pending));
  return { chunks, offsets, pageObjects: pageRefs.map((ref) => ref.objectNumber), largestObjectNumber: dest.largestObjectNumber };
}

const OBJ_END = latin1("\nendobj\n");

/** %PDF-1.7 and a comment of high bytes, marking the file as binary. */
function header(): Uint8Array {
  return concatBytes([latin1("%PDF-1.7\n%"), new Uint8Array([0xe2, 0xe3, 0xcf, 0xd3]), latin1("\n")]);
}

async function readPdfBytes(source: ConcatPdfSource): Promise<Uint8Array> {
  const bytes = source instanceof Uint8Array ? source : await source();
  if (bytes instanceof Uint8Array) return bytes;
  const chunks: Uint8Array[] = [];
  for await (const chunk of bytes) chunks.push(chunk);
  return concatBytes(chunks);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function pad(n: number): string {
  return String(n).padStart(10, "0");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
