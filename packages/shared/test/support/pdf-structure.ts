import {
  decodePDFRawStream,
  PDFArray,
  PDFBool,
  PDFDict,
  PDFDocument,
  PDFName,
  PDFNumber,
  PDFRawStream,
  PDFRef,
  PDFStream,
  type PDFContext,
  type PDFObject,
} from "pdf-lib";

/** A structure element, in document order. */
export interface StructElement {
  type: string;
  depth: number;
  alt?: string;
  lang?: string;
}

/** What a screen reader gets from a PDF's catalog and structure tree, read with pdf-lib. */
export interface PdfStructure {
  /** /MarkInfo /Marked. */
  marked: boolean;
  hasStructTreeRoot: boolean;
  /** Catalog /Lang. */
  lang: string | undefined;
  /** /ViewerPreferences /DisplayDocTitle. */
  displayDocTitle: boolean;
  roleMap: Record<string, string>;
  /** Info dictionary entries as text (dates as given, e.g. "D:2027…"). */
  info: Record<string, string>;
  /** The catalog's XMP metadata packet. */
  xmp: string | undefined;
  elements: StructElement[];
  /**
   * Broken links between content and structure, each described: an element whose /P is not
   * its parent, marked content a page holds that no element claims or that the parent tree
   * maps to another element, parent tree keys two pages share.
   */
  problems: string[];
}

const name = (key: string) => PDFName.of(key);

/**
 * Reads a PDF's logical structure and checks it is whole: every marked-content sequence of
 * every page belongs to exactly the element the parent tree names for it (what assistive
 * technology follows from content to structure), and every element's /P is its parent.
 */
export async function readPdfStructure(pdf: Uint8Array): Promise<PdfStructure> {
  const doc = await PDFDocument.load(pdf, { updateMetadata: false });
  const context = doc.context;
  const catalog = doc.catalog;
  const markInfo = lookup(context, catalog.get(name("MarkInfo")));
  const viewerPreferences = lookup(context, catalog.get(name("ViewerPreferences")));
  const root = lookup(context, catalog.get(name("StructTreeRoot")));
  const metadata = context.lookup(catalog.get(name("Metadata")));
  const infoDict = lookup(context, context.trailerInfo.Info);
  const result: PdfStructure = {
    marked: markInfo instanceof PDFDict && markInfo.get(name("Marked")) === PDFBool.True,
    hasStructTreeRoot: root instanceof PDFDict,
    lang: text(context.lookup(catalog.get(name("Lang")))),
    displayDocTitle: viewerPreferences instanceof PDFDict && viewerPreferences.get(name("DisplayDocTitle")) === PDFBool.True,
    roleMap: {},
    info: {},
    xmp: metadata instanceof PDFStream ? Buffer.from(streamBytes(metadata)).toString("utf8") : undefined,
    elements: [],
    problems: [],
  };
  if (infoDict instanceof PDFDict) {
    for (const [key, value] of infoDict.entries()) result.info[key.decodeText()] = text(context.lookup(value)) ?? "";
  }
  if (!(root instanceof PDFDict)) return result;
  const roleMap = lookup(context, root.get(name("RoleMap")));
  if (roleMap instanceof PDFDict) {
    for (const [key, value] of roleMap.entries())
      result.roleMap[key.decodeText()] = value instanceof PDFName ? value.decodeText() : String(value);
  }

  // Parent tree: key → value (array of elements by MCID, or one element).
  const parentTree = new Map<number, PDFObject>();
  const visitTree = (node: PDFObject | undefined, depth: number) => {
    const dict = lookup(context, node);
    if (!(dict instanceof PDFDict) || depth > 32) return;
    const nums = lookup(context, dict.get(name("Nums")));
    if (nums instanceof PDFArray)
      for (let i = 0; i + 1 < nums.size(); i += 2) parentTree.set((nums.get(i) as PDFNumber).asNumber(), nums.get(i + 1));
    const kids = lookup(context, dict.get(name("Kids")));
    if (kids instanceof PDFArray) for (const kid of kids.asArray()) visitTree(kid, depth + 1);
  };
  visitTree(root.get(name("ParentTree")), 0);

  const pages = doc.getPages();
  const pageKey = new Map<PDFRef, number>();
  const keysSeen = new Map<number, number>();
  for (const [i, page] of pages.entries()) {
    const key = page.node.get(name("StructParents"));
    if (!(key instanceof PDFNumber)) continue;
    pageKey.set(page.ref, key.asNumber());
    if (keysSeen.has(key.asNumber()))
      result.problems.push(`pages ${keysSeen.get(key.asNumber())} and ${i} share parent tree key ${key.asNumber()}`);
    keysSeen.set(key.asNumber(), i);
  }

  // Walk the tree: which element claims which (page, MCID).
  const claimed = new Map<string, PDFRef | undefined>();
  const walk = (item: PDFObject, parent: PDFObject, depth: number, page: PDFRef | undefined, elementRef: PDFRef | undefined) => {
    if (item instanceof PDFNumber) {
      if (!page) result.problems.push(`MCID ${item.asNumber()} of an element without /Pg`);
      else claimed.set(`${pages.findIndex((p) => p.ref === page)}:${item.asNumber()}`, elementRef);
      return;
    }
    const dict = lookup(context, item);
    if (!(dict instanceof PDFDict) || depth > 256) return;
    const type = dict.get(name("Type"));
    if (type === name("MCR")) {
      const mcrPage = (dict.get(name("Pg")) as PDFRef | undefined) ?? page;
      walk(dict.get(name("MCID"))!, parent, depth, mcrPage, elementRef);
      return;
    }
    if (type === name("OBJR")) {
      const annotation = lookup(context, dict.get(name("Obj")));
      const key = annotation instanceof PDFDict ? annotation.get(name("StructParent")) : undefined;
      if (!(key instanceof PDFNumber) || parentTree.get(key.asNumber()) !== elementRef) {
        result.problems.push("an annotation's /StructParent does not name the element that holds it");
      }
      return;
    }
    const ref = item instanceof PDFRef ? item : undefined;
    if (dict.get(name("P")) !== parent) result.problems.push(`element ${describe(dict)} at depth ${depth}: /P is not its parent`);
    const s = dict.get(name("S"));
    result.elements.push({
      type: s instanceof PDFName ? s.decodeText() : "?",
      depth,
      alt: text(context.lookup(dict.get(name("Alt")))),
      lang: text(context.lookup(dict.get(name("Lang")))),
    });
    const own = (dict.get(name("Pg")) as PDFRef | undefined) ?? page;
    const kids = dict.get(name("K"));
    const list = lookup(context, kids);
    for (const kid of list instanceof PDFArray ? list.asArray() : kids === undefined ? [] : [kids])
      walk(kid, ref ?? dict, depth + 1, own, ref);
  };
  const rootRef = catalog.get(name("StructTreeRoot"));
  const top = root.get(name("K"));
  const topList = lookup(context, top);
  for (const kid of topList instanceof PDFArray ? topList.asArray() : top === undefined ? [] : [top])
    walk(kid, rootRef!, 0, undefined, undefined);

  // Every marked-content sequence of every page: claimed by the element the parent tree names.
  for (const [i, page] of pages.entries()) {
    const mcids = markedContent(context, page.node.get(name("Contents")));
    const key = pageKey.get(page.ref);
    if (mcids.length > 0 && key === undefined) result.problems.push(`page ${i} has marked content but no /StructParents`);
    const entry = key === undefined ? undefined : lookup(context, parentTree.get(key));
    for (const mcid of mcids) {
      const owner = claimed.get(`${i}:${mcid}`);
      if (!claimed.has(`${i}:${mcid}`)) result.problems.push(`page ${i} MCID ${mcid}: no element claims it`);
      const mapped = entry instanceof PDFArray ? entry.get(mcid) : undefined;
      if (mapped !== owner) result.problems.push(`page ${i} MCID ${mcid}: the parent tree names another element`);
    }
  }
  const nextKey = lookup(context, root.get(name("ParentTreeNextKey")));
  const maxKey = Math.max(-1, ...parentTree.keys());
  if (!(nextKey instanceof PDFNumber) || nextKey.asNumber() <= maxKey) result.problems.push(`ParentTreeNextKey is not above ${maxKey}`);
  return result;
}

/** The MCIDs the content streams of a page mark, in order. */
function markedContent(context: PDFContext, contents: PDFObject | undefined): number[] {
  const value = lookup(context, contents);
  const streams = value instanceof PDFArray ? value.asArray().map((ref) => lookup(context, ref)) : [value];
  const mcids: number[] = [];
  for (const stream of streams) {
    if (!(stream instanceof PDFStream)) continue;
    const content = Buffer.from(streamBytes(stream)).toString("latin1");
    for (const match of content.matchAll(/\/MCID\s+(\d+)/g)) mcids.push(Number(match[1]));
  }
  return mcids;
}

function lookup(context: PDFContext, object: PDFObject | undefined): PDFObject | undefined {
  return object === undefined ? undefined : context.lookup(object);
}

function text(object: PDFObject | undefined): string | undefined {
  if (object === undefined) return undefined;
  if ("decodeText" in object && typeof object.decodeText === "function") return (object.decodeText as () => string)();
  return undefined;
}

function describe(dict: PDFDict): string {
  const s = dict.get(name("S"));
  return s instanceof PDFName ? s.decodeText() : "?";
}

function streamBytes(stream: PDFStream): Uint8Array {
  return stream instanceof PDFRawStream ? decodePDFRawStream(stream).decode() : stream.getContents();
}
