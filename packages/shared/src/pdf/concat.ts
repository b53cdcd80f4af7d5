import { randomBytes } from "node:crypto";
import { deflateSync } from "node:zlib";
import {
  PDFArray,
  PDFDict,
  PDFHexString,
  PDFName,
  PDFNumber,
  PDFRef,
  PDFStream,
  type PDFContext,
  type PDFDocument,
  type PDFObject,
} from "pdf-lib";
import { ByteSink, NumberTable } from "./bytes.ts";
import { IdenticalStreams, StreamDigests } from "./identical-streams.ts";
import { ANNOTS, INHERITABLE, keptAnnotations, loadPdf, PARENT } from "./page-copier.ts";
import {
  K,
  LANG,
  numberTreeEntries,
  PARENT_TREE,
  PARENT_TREE_NEXT_KEY,
  ROLE_MAP_ENTRIES,
  S,
  STRUCT_PARENT,
  STRUCT_PARENTS,
  STRUCT_TREE_ROOT,
} from "./structure.ts";

/** The bytes of one source PDF: whole, or as chunks (e.g. what BlobStore.get streams). */
export type PdfBytes = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * One source of {@link concatPdfs}: the PDF's bytes, or a function fetching them, called
 * only when the concatenation reaches that source (so `keys.map((k) => () => store.get(k))`
 * never holds more than one source PDF in memory). An async iterable of Uint8Array is just
 * as lazy: it is pulled one source at a time.
 */
export type ConcatPdfSource = Uint8Array | (() => Promise<PdfBytes>);

export interface ConcatPdfsOptions {
  /** Document title (Info dictionary /Title). */
  title?: string;
}

/** Object numbers reserved for the objects written last. */
const PAGES_OBJECT = 1;
const CATALOG_OBJECT = 2;
const STRUCT_TREE_ROOT_OBJECT = 3;
/** The output's one /Document structure element: each source's top-level elements hang below it. */
const DOCUMENT_OBJECT = 4;
const DOCUMENT = PDFName.of("Document");
const PART = PDFName.of("Part");

/** Source objects are yielded in chunks of about this size (more when a single object is). */
const CHUNK_BYTES = 256 * 1024;

/**
 * Objects other than streams are written into compressed object streams of this many: a
 * tagged ticket has about 60 structure elements, which written one by one would double the
 * size of a batch PDF.
 */
const OBJECTS_PER_STREAM = 100;

/** The cross-reference stream's entries: type (1 byte), offset or object stream number (5), generation or index (2). */
const XREF_ENTRY = [1, 5, 2] as const;
const XREF_ENTRY_BYTES = 8;
const MAX_OFFSET = 2 ** 40 - 1;

/**
 * Concatenates the pages of `sources`, in order, into one PDF streamed as it is produced.
 *
 * Sources are loaded (parsed by pdf-lib) one at a time. The objects reachable from a source's
 * pages are written straight from the parsed source, renumbered into one global object-number
 * space: streams as `N 0 obj` objects, every other object into compressed object streams of
 * that source. The source is dropped before the next one is loaded. Across sources only the
 * location of every written object (a byte offset, or its object stream and index) and the
 * object number of every page are kept (8 + 8 bytes each), so memory is bounded by the largest
 * single source, not the output. No pdf-lib object is created for the output: pdf-lib keeps
 * every PDFRef it ever creates in a global pool, which would grow with the output. The page
 * tree (object 1, flat), catalog (object 2), Info dictionary and the cross-reference stream
 * (PDF 1.5; uncompressed, so it is streamed too) are written at the end.
 *
 * Output chunks are about 256 KiB (larger when one object is); re-slice them if a transport
 * has a smaller message limit. Throws before yielding anything when there is no source, and
 * at the end when no source has a page; an unreadable source throws part-way, after output
 * was already yielded, so the consumer must abort what it was sending.
 *
 * Carried: page contents and their resources (fonts, images, XObjects, ...), page boxes and
 * rotation (inherited ones made explicit), annotations; links between pages of the output
 * keep working. The logical structure of tagged sources: when every source is tagged, the
 * output is too, with one /Document element whose children are the sources' top-level
 * elements (a source's /Document becomes a /Part), one parent tree (each source's keys moved
 * past the previous sources'), /MarkInfo, and the first source's /Lang. Per page, only the
 * object number of its parent tree entry is kept, so memory stays bounded as above. Not
 * carried: outlines, named destinations (links to them are dropped), forms (AcroForm), page
 * labels, per-source metadata.
 *
 * Identical streams are written once (IdenticalStreams): an organiser's logo printed on every
 * ticket, in every chunk document of a batch, is one image in the output, not one per source.
 * Fonts are shared only where two sources embed the same bytes (Chromium subsets the fonts of
 * each document to the glyphs it uses).
 */
export async function* concatPdfs(
  sources: AsyncIterable<ConcatPdfSource> | Iterable<ConcatPdfSource>,
  options: ConcatPdfsOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const offsets = new NumberTable();
  const pageObjects = new NumberTable();
  const structure = new OutputStructure();
  const identical = new IdenticalStreams();
  let largestObjectNumber = DOCUMENT_OBJECT;
  let position = 0;
  let sourceCount = 0;

  for await (const source of sources) {
    const index = sourceCount++;
    const fail = (error: unknown): Error =>
      new Error(`concatPdfs: cannot copy the pages of source #${index}: ${describe(error)}`, { cause: error });
    // The writer holds the only reference to the parsed document, so it goes with the writer.
    let writer: SourceWriter;
    try {
      writer = new SourceWriter(
        await loadPdf(await readPdfBytes(source)),
        largestObjectNumber + 1,
        position,
        offsets,
        pageObjects,
        structure,
        identical,
      );
    } catch (error) {
      throw fail(error);
    }
    const chunks = writer.write(position === 0);
    for (;;) {
      let next: IteratorResult<Uint8Array, void>;
      try {
        next = chunks.next();
      } catch (error) {
        throw fail(error);
      }
      if (next.done) break;
      position += next.value.length;
      yield next.value;
    }
    largestObjectNumber = writer.nextObjectNumber - 1;
    if (position > MAX_OFFSET) throw new Error("concatPdfs: the output exceeds what its cross-reference stream can address (1 TiB)");
  }

  if (sourceCount === 0) throw new Error("concatPdfs: no source PDFs to concatenate");
  if (pageObjects.length === 0) throw new Error(`concatPdfs: the ${sourceCount} source PDF(s) have no pages`);

  // Page tree, catalog, Info.
  const tail = new ByteSink();
  const addObject = (objectNumber: number, writeBody: () => void): void => {
    offsets.set(objectNumber, position + tail.length);
    tail.ascii(`${objectNumber} 0 obj\n`);
    writeBody();
    tail.ascii("\nendobj\n");
  };
  addObject(PAGES_OBJECT, () => {
    tail.ascii(`<</Type /Pages /Count ${pageObjects.length} /Kids [`);
    for (let i = 0; i < pageObjects.length; i++) tail.ascii(`${i % 10 === 0 ? "\n" : " "}${pageObjects.get(i)} 0 R`);
    tail.ascii("\n]>>");
  });
  let catalog = `/Type /Catalog /Pages ${PAGES_OBJECT} 0 R`;
  if (options.title !== undefined) catalog += " /ViewerPreferences <</DisplayDocTitle true>>";
  if (structure.untaggedSources === 0) {
    const parentTree = ++largestObjectNumber;
    catalog += ` /StructTreeRoot ${STRUCT_TREE_ROOT_OBJECT} 0 R /MarkInfo <</Marked true>>${structure.lang ? ` /Lang ${structure.lang}` : ""}`;
    const roleMap = ROLE_MAP_ENTRIES.map(([from, to]) => `/${from} /${to}`).join(" ");
    addObject(STRUCT_TREE_ROOT_OBJECT, () =>
      tail.ascii(
        `<</Type /StructTreeRoot /K ${DOCUMENT_OBJECT} 0 R /ParentTree ${parentTree} 0 R /ParentTreeNextKey ${structure.nextKey} /RoleMap <<${roleMap}>>>>`,
      ),
    );
    addObject(DOCUMENT_OBJECT, () => {
      tail.ascii(
        `<</Type /StructElem /S /Document /P ${STRUCT_TREE_ROOT_OBJECT} 0 R${structure.lang ? ` /Lang ${structure.lang}` : ""} /K [`,
      );
      for (let i = 0; i < structure.topLevel.length; i++) tail.ascii(`${i % 10 === 0 ? "\n" : " "}${structure.topLevel.get(i)} 0 R`);
      tail.ascii("\n]>>");
    });
    addObject(parentTree, () => {
      tail.ascii("<</Nums [");
      for (let key = 0; key < structure.parentTree.length; key++) {
        const value = structure.parentTree.get(key);
        if (value !== 0) tail.ascii(`\n${key} ${value} 0 R`);
      }
      tail.ascii("\n]>>");
    });
  }
  addObject(CATALOG_OBJECT, () => tail.ascii(`<<${catalog}>>`));
  let info = "";
  if (options.title !== undefined) {
    const infoObject = ++largestObjectNumber;
    addObject(infoObject, () => tail.ascii(`<</Title ${PDFHexString.fromText(options.title!).toString()}>>`));
    info = ` /Info ${infoObject} 0 R`;
  }
  const xrefObject = ++largestObjectNumber;
  const xrefOffset = position + tail.length;
  offsets.set(xrefObject, xrefOffset);

  // Cross-reference stream: one entry for every number 0..size-1; numbers never written go on the free list.
  const size = largestObjectNumber + 1;
  // Free entries link to the next free number, in increasing order; computed walking backwards.
  const nextFree = new Map<number, number>();
  let following = 0;
  for (let n = size - 1; n > 0; n--) {
    if (offsets.get(n) === 0) {
      nextFree.set(n, following);
      following = n;
    }
  }
  const id = `<${randomBytes(16).toString("hex")}>`;
  tail.ascii(
    `${xrefObject} 0 obj\n<</Type /XRef /Size ${size} /W [${XREF_ENTRY.join(" ")}] /Root ${CATALOG_OBJECT} 0 R${info}` +
      ` /ID [${id} ${id}] /Length ${size * XREF_ENTRY_BYTES}>>\nstream\n`,
  );
  xrefEntry(tail.reserve(XREF_ENTRY_BYTES), 0, following, 65535);
  for (let n = 1; n < size; n++) {
    const location = offsets.get(n);
    const entry = tail.reserve(XREF_ENTRY_BYTES);
    if (location > 0) xrefEntry(entry, 1, location, 0);
    else if (location < 0) xrefEntry(entry, 2, ...unpackLocation(location));
    else xrefEntry(entry, 0, nextFree.get(n) ?? 0, 0);
    if (tail.length >= CHUNK_BYTES) yield tail.take();
  }
  tail.ascii(`\nendstream\nendobj\nstartxref\n${xrefOffset}\n%%EOF\n`);
  yield tail.take();
}

/** One cross-reference stream entry, big-endian fields of XREF_ENTRY's widths. */
function xrefEntry(entry: Uint8Array, type: number, field2: number, field3: number): void {
  entry[0] = type;
  let value = field2;
  for (let i = 5; i >= 1; i--) {
    entry[i] = value % 256;
    value = Math.floor(value / 256);
  }
  entry[6] = field3 >> 8;
  entry[7] = field3 & 0xff;
}

/** An object's place in an object stream, kept in the offsets table as a negative number (offsets are positive). */
function packLocation(stream: number, index: number): number {
  return -(stream * OBJECTS_PER_STREAM + index) - 1;
}

function unpackLocation(location: number): [stream: number, index: number] {
  const packed = -location - 1;
  return [Math.floor(packed / OBJECTS_PER_STREAM), packed % OBJECTS_PER_STREAM];
}

/**
 * Writes the pages of one source, and every object they reach, numbered from
 * `firstObjectNumber`. Each source object is written once, straight from the parsed source.
 */
class SourceWriter {
  nextObjectNumber: number;
  private readonly src: PDFContext;
  /** Added to the source's parent tree keys (/StructParents, /StructParent) to make them unique in the output. */
  private readonly keyOffset: number;
  /** Source objects written differently: a top-level /Document element written as a /Part. */
  private readonly replaced = new Map<PDFRef, PDFObject>();
  /** Parent tree values held directly in the source's number tree, written as objects of their own. */
  private readonly parentTreeValues: Array<[number, PDFObject]> = [];
  private readonly sink = new ByteSink();
  /** Bodies of the objects of the object stream being filled, and their numbers and offsets in it. */
  private readonly packed = new ByteSink();
  private readonly packedObjects: number[] = [];
  /** Where value() writes: the output, or the object stream being filled. */
  private out: ByteSink = this.sink;
  /** Bytes already handed out as chunks. */
  private written = 0;
  /** Source ref → output object number (0: missing object, written as null). */
  private readonly numbers = new Map<PDFRef, number>();
  /** Non-page objects to write, in numbering order. */
  private readonly queue: PDFRef[] = [];
  private readonly pageRefs: Set<PDFRef>;
  private readonly digests: StreamDigests;
  private readonly isPage = (ref: PDFRef): boolean => this.pageRefs.has(ref);

  constructor(
    private doc: PDFDocument | undefined,
    firstObjectNumber: number,
    private readonly startPosition: number,
    private readonly offsets: NumberTable,
    private readonly pageObjects: NumberTable,
    private readonly structure: OutputStructure,
    private readonly identical: IdenticalStreams,
  ) {
    this.src = doc!.context;
    this.nextObjectNumber = firstObjectNumber;
    this.pageRefs = new Set(doc!.getPages().map((page) => page.ref));
    this.digests = new StreamDigests(
      this.src,
      new Set([...this.pageRefs, ...doc!.getPages().flatMap((page) => contentRefs(page.node.get(CONTENTS)))]),
    );
    this.keyOffset = structure.nextKey;
    this.readStructure(doc!);
  }

  /**
   * Numbers the source's top-level structure elements and its parent tree values, so that
   * they are written with the rest; references to the source's StructTreeRoot (the top-level
   * elements' /P) become references to the output's /Document.
   */
  private readStructure(doc: PDFDocument): void {
    const rootRef = doc.catalog.get(STRUCT_TREE_ROOT);
    const root = this.src.lookup(rootRef);
    if (!(rootRef instanceof PDFRef) || !(root instanceof PDFDict)) {
      this.structure.untaggedSources++;
      return;
    }
    this.numbers.set(rootRef, DOCUMENT_OBJECT);
    this.structure.lang ??= langOf(this.src, doc.catalog);
    const kids = this.src.lookup(root.get(K));
    for (const kid of kids instanceof PDFArray ? kids.asArray() : [root.get(K)]) {
      const element = this.src.lookup(kid);
      if (!(kid instanceof PDFRef) || !(element instanceof PDFDict)) continue;
      if (element.get(S) === DOCUMENT) {
        const part = element.clone(this.src);
        part.set(S, PART);
        this.replaced.set(kid, part);
      }
      this.structure.topLevel.push(this.number(kid));
    }
    let nextKey = this.keyOffset;
    for (const [key, value] of numberTreeEntries(this.src, root.get(PARENT_TREE))) {
      const outputKey = this.keyOffset + key;
      if (value instanceof PDFRef) {
        this.structure.parentTree.set(outputKey, this.number(value));
      } else {
        const objectNumber = this.nextObjectNumber++;
        this.parentTreeValues.push([objectNumber, value]);
        this.structure.parentTree.set(outputKey, objectNumber);
      }
      nextKey = Math.max(nextKey, outputKey + 1);
    }
    const declared = this.src.lookup(root.get(PARENT_TREE_NEXT_KEY));
    if (declared instanceof PDFNumber) nextKey = Math.max(nextKey, this.keyOffset + declared.asNumber());
    this.structure.nextKey = nextKey;
  }

  /** The output bytes of this source, in chunks; the source is dropped once they are all out. */
  *write(withHeader: boolean): Generator<Uint8Array, void, undefined> {
    const pages = this.doc!.getPages();
    this.doc = undefined;
    if (withHeader) {
      // %PDF-1.7 and a comment of high bytes, marking the file as binary.
      this.sink.ascii("%PDF-1.7\n%");
      this.sink.bytes(new Uint8Array([0xe2, 0xe3, 0xcf, 0xd3, 0x0a]));
    }
    // Numbers for the pages first, so that links between them point at the copies.
    for (const page of pages) this.pageObjects.push(this.number(page.ref));
    for (const page of pages) {
      const entries = page.node.entries().filter(([key]) => key !== PARENT);
      for (const key of INHERITABLE) {
        if (page.node.get(key) === undefined) {
          const inherited = page.node.getInheritableAttribute(key);
          if (inherited !== undefined) entries.push([key, inherited]);
        }
      }
      const annots = keptAnnotations(this.src, page.node.get(ANNOTS), this.isPage);
      yield* this.pack(this.numbers.get(page.ref)!, () => {
        this.out.ascii("<<");
        for (const [key, value] of entries) {
          this.value(key);
          this.out.ascii(" ");
          this.entry(key, key === ANNOTS && annots !== undefined ? annots : value);
          this.out.ascii(" ");
        }
        this.out.ascii(`/Parent ${PAGES_OBJECT} 0 R>>`);
      });
    }
    pages.length = 0;
    for (const [objectNumber, value] of this.parentTreeValues) yield* this.pack(objectNumber, () => this.value(value));
    this.parentTreeValues.length = 0;
    for (let i = 0; i < this.queue.length; i++) {
      const ref = this.queue[i]!;
      const object = this.replaced.get(ref) ?? this.src.lookup(ref)!;
      if (object instanceof PDFStream) {
        this.begin(this.numbers.get(ref)!);
        this.value(object);
        yield* this.end();
      } else yield* this.pack(this.numbers.get(ref)!, () => this.value(object));
    }
    yield* this.flushPacked();
    if (this.sink.length > 0) yield this.sink.take();
  }

  /** Writes an object (not a stream) into the object stream being filled; a full one is written out. */
  private *pack(objectNumber: number, writeBody: () => void): Generator<Uint8Array, void, undefined> {
    this.packedObjects.push(objectNumber, this.packed.length);
    this.out = this.packed;
    writeBody();
    this.packed.ascii("\n");
    this.out = this.sink;
    if (this.packedObjects.length >= 2 * OBJECTS_PER_STREAM) yield* this.flushPacked();
  }

  /** The object stream being filled, compressed, as an object of its own. */
  private *flushPacked(): Generator<Uint8Array, void, undefined> {
    const count = this.packedObjects.length / 2;
    if (count === 0) return;
    const streamNumber = this.nextObjectNumber++;
    const header = new ByteSink();
    for (let i = 0; i < count; i++) {
      header.ascii(`${i === 0 ? "" : " "}${this.packedObjects[2 * i]} ${this.packedObjects[2 * i + 1]}`);
      this.offsets.set(this.packedObjects[2 * i]!, packLocation(streamNumber, i));
    }
    header.ascii("\n");
    const first = header.length;
    header.bytes(this.packed.take());
    this.packedObjects.length = 0;
    const data = deflateSync(header.take());
    this.begin(streamNumber);
    this.sink.ascii(`<</Type /ObjStm /N ${count} /First ${first} /Filter /FlateDecode /Length ${data.length}>>\nstream\n`);
    this.sink.bytes(data);
    this.sink.ascii("\nendstream");
    yield* this.end();
  }

  /**
   * Output number of a source ref (assigned and queued on first sight); 0 for a missing object;
   * an identical stream's already written (by this source or an earlier one) is reused.
   */
  private number(ref: PDFRef): number {
    let number = this.numbers.get(ref);
    if (number === undefined) {
      const digest = this.digests.of(ref);
      const written = digest === undefined ? undefined : this.identical.find(digest);
      if (written !== undefined) {
        number = written;
      } else if (this.src.lookup(ref) === undefined) {
        number = 0;
      } else {
        number = this.nextObjectNumber++;
        if (!this.pageRefs.has(ref)) this.queue.push(ref);
        if (digest !== undefined) this.identical.remember(digest, number);
      }
      this.numbers.set(ref, number);
    }
    return number;
  }

  private begin(objectNumber: number): void {
    this.offsets.set(objectNumber, this.startPosition + this.written + this.sink.length);
    this.sink.ascii(`${objectNumber} 0 obj\n`);
  }

  private *end(): Generator<Uint8Array, void, undefined> {
    this.sink.ascii("\nendobj\n");
    if (this.sink.length >= CHUNK_BYTES) {
      const chunk = this.sink.take();
      this.written += chunk.length;
      yield chunk;
    }
  }

  private value(object: PDFObject): void {
    const sink = this.out;
    if (object instanceof PDFRef) {
      const number = this.number(object);
      sink.ascii(number === 0 ? "null" : `${number} 0 R`);
    } else if (object instanceof PDFDict) {
      this.dict(object, false);
    } else if (object instanceof PDFArray) {
      sink.ascii("[");
      for (let i = 0; i < object.size(); i++) {
        if (i > 0) sink.ascii(" ");
        this.value(object.get(i));
      }
      sink.ascii("]");
    } else if (object instanceof PDFStream) {
      const contents = object.getContents();
      this.dict(object.dict, true);
      sink.ascii(`/Length ${contents.length}>>\nstream\n`);
      sink.bytes(contents);
      sink.ascii("\nendstream");
    } else {
      // Name, number, string, boolean, null: pdf-lib writes these as they were parsed.
      object.copyBytesInto(sink.reserve(object.sizeInBytes()), 0);
    }
  }

  /** A dictionary entry's value; parent tree keys (of pages, annotations, XObjects) moved by the source's offset. */
  private entry(key: PDFName, value: PDFObject): void {
    if ((key === STRUCT_PARENTS || key === STRUCT_PARENT) && value instanceof PDFNumber) {
      this.out.ascii(String(value.asNumber() + this.keyOffset));
    } else this.value(value);
  }

  /** `<<` and the entries; the closing `>>` too unless `open` (a stream's /Length comes last). */
  private dict(dict: PDFDict, open: boolean): void {
    this.out.ascii("<<");
    for (const [key, value] of dict.entries()) {
      if (open && key === PDFName.Length) continue;
      this.value(key);
      this.out.ascii(" ");
      this.entry(key, value);
      this.out.ascii(" ");
    }
    if (!open) this.out.ascii(">>");
  }
}

const CONTENTS = PDFName.of("Contents");

/** The refs of a page's /Contents: one stream or an array of them. */
function contentRefs(contents: PDFObject | undefined): PDFRef[] {
  if (contents instanceof PDFRef) return [contents];
  if (contents instanceof PDFArray) return contents.asArray().filter((item): item is PDFRef => item instanceof PDFRef);
  return [];
}

/** What the output's structure tree is made of, gathered source by source (a few numbers a page). */
class OutputStructure {
  untaggedSources = 0;
  /** The first tagged source's catalog /Lang, as PDF syntax. */
  lang: string | undefined;
  /** Object numbers of the sources' top-level elements. */
  readonly topLevel = new NumberTable();
  /** Output parent tree key → object number of its value (0: no entry). */
  readonly parentTree = new NumberTable();
  nextKey = 0;
}

function langOf(context: PDFContext, catalog: PDFDict): string | undefined {
  const lang = context.lookup(catalog.get(LANG));
  if (lang === undefined) return undefined;
  const sink = new ByteSink();
  lang.copyBytesInto(sink.reserve(lang.sizeInBytes()), 0);
  return Buffer.from(sink.take()).toString("latin1");
}

/** The whole bytes of a source, fetched and gathered when it is a function or a stream. */
export async function readPdfBytes(source: ConcatPdfSource): Promise<Uint8Array> {
  const bytes = source instanceof Uint8Array ? source : await source();
  if (bytes instanceof Uint8Array) return bytes;
  const chunks: Uint8Array[] = [];
  for await (const chunk of bytes) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
