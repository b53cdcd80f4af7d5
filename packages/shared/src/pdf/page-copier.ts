import {
  PDFArray,
  PDFContext,
  PDFDict,
  PDFDocument,
  PDFName,
  PDFNull,
  PDFPageLeaf,
  PDFRef,
  PDFStream,
  type PDFObject,
} from "pdf-lib";

const PARENT = PDFName.of("Parent");
const INHERITABLE = PDFPageLeaf.InheritableEntries.map((name) => PDFName.of(name));

/**
 * Loads a PDF for page copying: metadata left untouched (we never save the source) and
 * parsed without pdf-lib's default yielding every 100 objects (a 1 ms timer each, which
 * dominates the cost for 100-page ticket PDFs); one source is parsed at a time.
 */
export function loadPdf(pdf: Uint8Array): Promise<PDFDocument> {
  return PDFDocument.load(pdf, { updateMetadata: false, parseSpeed: 5_000 });
}

/**
 * Copies pages (and everything they reference) from one PDFContext into another.
 *
 * Unlike pdf-lib's PDFObjectCopier, references to pages are never followed blindly: a link
 * annotation's /Dest or /P pointing at another page would otherwise drag that page, its
 * /Parent and so the donor's whole page tree into the copy. Page refs are mapped up front
 * ({@link mapPage}) to their copy's ref, or to null when that page is not being copied.
 * References to missing objects become null (what PDF readers take them to mean).
 */
export class PageCopier {
  private readonly refs = new Map<PDFRef, PDFRef | typeof PDFNull>();

  constructor(
    private readonly src: PDFContext,
    private readonly dest: PDFContext,
  ) {}

  /** What references to a source page turn into in the destination. */
  mapPage(srcRef: PDFRef, destRef: PDFRef | typeof PDFNull): void {
    this.refs.set(srcRef, destRef);
  }

  /**
   * A copy of the page leaf with its inherited attributes (Resources, MediaBox, CropBox,
   * Rotate) made explicit, /Parent set to `parent` (left out when not given), everything it
   * references copied.
   */
  copyPage(leaf: PDFPageLeaf, parent?: PDFRef): PDFPageLeaf {
    const copy = leaf.clone(this.dest);
    for (const key of INHERITABLE) {
      if (copy.get(key) === undefined) {
        const inherited = leaf.getInheritableAttribute(key);
        if (inherited !== undefined) copy.set(key, inherited);
      }
    }
    copy.delete(PARENT);
    for (const [key, value] of copy.entries()) copy.set(key, this.copy(value));
    if (parent !== undefined) copy.set(PARENT, parent);
    return copy;
  }

  copy(object: PDFObject): PDFObject {
    if (object instanceof PDFRef) return this.copyRef(object);
    if (object instanceof PDFDict) {
      const copy = object.clone(this.dest);
      for (const [key, value] of object.entries()) copy.set(key, this.copy(value));
      return copy;
    }
    if (object instanceof PDFArray) {
      const copy = object.clone(this.dest);
      for (let i = 0; i < object.size(); i++) copy.set(i, this.copy(object.get(i)));
      return copy;
    }
    if (object instanceof PDFStream) {
      const copy = object.clone(this.dest);
      for (const [key, value] of object.dict.entries()) copy.dict.set(key, this.copy(value));
      return copy;
    }
    return object.clone(this.dest);
  }

  private copyRef(ref: PDFRef): PDFRef | typeof PDFNull {
    const mapped = this.refs.get(ref);
    if (mapped !== undefined) return mapped;
    const target = this.src.lookup(ref);
    if (target === undefined) {
      this.refs.set(ref, PDFNull);
      return PDFNull;
    }
    const destRef = this.dest.nextRef();
    // Registered before recursing so that cycles (e.g. an annotation's /Parent) terminate.
    this.refs.set(ref, destRef);
    this.dest.assign(destRef, this.copy(target));
    return destRef;
  }
}
