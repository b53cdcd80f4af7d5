import { PDFArray, type PDFContext, PDFDict, PDFDocument, PDFName, PDFNull, PDFPageLeaf, PDFRef, PDFStream, type PDFObject } from "pdf-lib";

export const PARENT = PDFName.of("Parent");
export const ANNOTS = PDFName.of("Annots");
export const INHERITABLE = PDFPageLeaf.InheritableEntries.map((name) => PDFName.of(name));
const DEST = PDFName.of("Dest");
const ACTION = PDFName.of("A");
const ACTION_TYPE = PDFName.of("S");
const GOTO = PDFName.of("GoTo");
const ACTION_DEST = PDFName.of("D");

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

  /** What references to a source page turn into in the destination (null: page not copied). */
  mapPage(srcRef: PDFRef, destRef: PDFRef | typeof PDFNull): void {
    this.refs.set(srcRef, destRef);
  }

  /** The copy of a source object copied so far (with a page, or by copy()), or undefined. */
  copied(ref: PDFRef): PDFRef | undefined {
    const mapped = this.refs.get(ref);
    return mapped instanceof PDFRef ? mapped : undefined;
  }

  private isCopiedPage = (ref: PDFRef): boolean => {
    const mapped = this.refs.get(ref);
    return mapped !== undefined && mapped !== PDFNull;
  };

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
    const annots = keptAnnotations(this.src, leaf.get(ANNOTS), this.isCopiedPage);
    if (annots !== undefined) copy.set(ANNOTS, annots);
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

/**
 * The page's /Annots without the links that could not work in the output: links to a page
 * that is not carried, and links to named destinations (the catalog's name trees are not
 * carried). undefined when nothing has to be dropped (or there are no annotations).
 */
export function keptAnnotations(
  context: PDFContext,
  annots: PDFObject | undefined,
  isCarriedPage: (ref: PDFRef) => boolean,
): PDFArray | undefined {
  const array = annots === undefined ? undefined : context.lookup(annots);
  if (!(array instanceof PDFArray)) return undefined;
  const items = array.asArray();
  const kept = items.filter((annot) => {
    const dict = context.lookup(annot);
    if (!(dict instanceof PDFDict)) return true;
    let dest = dict.get(DEST);
    if (dest === undefined) {
      const action = context.lookup(dict.get(ACTION));
      if (action instanceof PDFDict && action.get(ACTION_TYPE) === GOTO) dest = action.get(ACTION_DEST);
    }
    if (dest === undefined) return true; // not an internal link (URI, widget, ...)
    const explicit = context.lookup(dest);
    if (!(explicit instanceof PDFArray)) return false; // named destination
    const page = explicit.get(0);
    return !(page instanceof PDFRef) || isCarriedPage(page);
  });
  return kept.length === items.length ? undefined : arrayOf(context, kept);
}

function arrayOf(context: PDFContext, items: PDFObject[]): PDFArray {
  const array = PDFArray.withContext(context);
  for (const item of items) array.push(item);
  return array;
}
