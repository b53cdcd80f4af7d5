import { PDFArray, PDFDict, PDFName, PDFNumber, PDFRef, type PDFContext, type PDFObject } from "pdf-lib";

export const STRUCT_TREE_ROOT = PDFName.of("StructTreeRoot");
export const MARK_INFO = PDFName.of("MarkInfo");
export const LANG = PDFName.of("Lang");
export const K = PDFName.of("K");
export const P = PDFName.of("P");
export const PG = PDFName.of("Pg");
export const S = PDFName.of("S");
export const TYPE = PDFName.of("Type");
export const PARENT_TREE = PDFName.of("ParentTree");
export const PARENT_TREE_NEXT_KEY = PDFName.of("ParentTreeNextKey");
export const STRUCT_PARENTS = PDFName.of("StructParents");
export const STRUCT_PARENT = PDFName.of("StructParent");
export const ROLE_MAP = PDFName.of("RoleMap");
export const CLASS_MAP = PDFName.of("ClassMap");
const ANNOTS = PDFName.of("Annots");
const NUMS = PDFName.of("Nums");
const KIDS = PDFName.of("Kids");
const MCID = PDFName.of("MCID");
const OBJ = PDFName.of("Obj");
const STM = PDFName.of("Stm");
const MCR = PDFName.of("MCR");
const OBJR = PDFName.of("OBJR");

/**
 * Structure types Chromium writes that PDF 1.7 (ISO 32000-1) does not define, mapped to the
 * standard type a PDF/UA reader falls back on. Chromium tags `<aside>` as PDF 2.0's Aside.
 */
export const ROLE_MAP_ENTRIES: ReadonlyArray<readonly [string, string]> = [["Aside", "Div"]];

/** The entries of a number tree (the ParentTree), in key order, leaves reached through /Kids. */
export function numberTreeEntries(context: PDFContext, tree: PDFObject | undefined): Array<[number, PDFObject]> {
  const entries: Array<[number, PDFObject]> = [];
  const visit = (node: PDFObject | undefined, depth: number): void => {
    const dict = context.lookup(node);
    // Depth-limited: a malformed tree whose /Kids loop back must not hang a worker.
    if (!(dict instanceof PDFDict) || depth > 32) return;
    const nums = context.lookup(dict.get(NUMS));
    if (nums instanceof PDFArray) {
      for (let i = 0; i + 1 < nums.size(); i += 2) {
        const key = nums.get(i);
        if (key instanceof PDFNumber) entries.push([key.asNumber(), nums.get(i + 1)]);
      }
    }
    const kids = context.lookup(dict.get(KIDS));
    if (kids instanceof PDFArray) for (const kid of kids.asArray()) visit(kid, depth + 1);
  };
  visit(tree, 0);
  return entries.sort((a, b) => a[0] - b[0]);
}

/**
 * The entries of a structure element copied as they are: none of them refers to another
 * element (/P, /K and /Pg are rebuilt; PDF 2.0's /Ref, which would, is not carried).
 */
const ELEMENT_KEYS = new Set(["Type", "S", "ID", "T", "Lang", "Alt", "E", "ActualText", "A", "C", "R"].map((key) => PDFName.of(key)));

/** A marked-content sequence (by MCID on a page) or an object (an annotation) an element holds. */
type Content = { kind: "mcid"; page: PDFRef; mcid: number } | { kind: "objr"; page: PDFRef | undefined; obj: PDFRef };

interface StructNode {
  dict: PDFDict;
  kids: Array<StructNode | Content>;
  /** Pages any content of this element or its descendants is on. */
  pages: Set<PDFRef>;
}

/**
 * The logical structure of a tagged PDF (Chromium's `tagged: true` output), read once so that
 * each page's share can be copied into a document of its own: the elements with content on
 * that page, their ancestors, and a parent tree for the page's marked content. Elements with no
 * content at all (Chromium writes a few empty ones) are left out.
 */
export class LogicalStructure {
  private readonly roots: StructNode[];

  private constructor(
    private readonly context: PDFContext,
    private readonly root: PDFDict,
    readonly lang: PDFObject | undefined,
  ) {
    this.roots = [];
    const kids = context.lookup(root.get(K));
    const items = kids instanceof PDFArray ? kids.asArray() : kids === undefined ? [] : [root.get(K)!];
    const seen = new Set<PDFObject>();
    for (const item of items) {
      const node = this.read(item, undefined, seen, 0);
      if (node && !("kind" in node)) this.roots.push(node);
    }
  }

  /** The structure of a tagged document; undefined when it has none. */
  static of(context: PDFContext, catalog: PDFDict): LogicalStructure | undefined {
    const root = context.lookup(catalog.get(STRUCT_TREE_ROOT));
    if (!(root instanceof PDFDict)) return undefined;
    return new LogicalStructure(context, root, catalog.get(LANG));
  }

  private read(item: PDFObject, inheritedPage: PDFRef | undefined, seen: Set<PDFObject>, depth: number): StructNode | Content | undefined {
    if (item instanceof PDFNumber) return inheritedPage ? { kind: "mcid", page: inheritedPage, mcid: item.asNumber() } : undefined;
    const dict = this.context.lookup(item);
    // Depth-limited and cycle-checked: the tree comes from our own Chromium, but a loop must not hang a worker.
    if (!(dict instanceof PDFDict) || seen.has(dict) || depth > 256) return undefined;
    seen.add(dict);
    const type = dict.get(TYPE);
    const page = pageRef(dict.get(PG)) ?? inheritedPage;
    if (type === MCR) {
      const mcid = dict.get(MCID);
      // Content in a form XObject (/Stm) would need the XObject's own parent tree entry: not carried.
      if (!(mcid instanceof PDFNumber) || !page || dict.get(STM) !== undefined) return undefined;
      return { kind: "mcid", page, mcid: mcid.asNumber() };
    }
    if (type === OBJR) {
      const obj = dict.get(OBJ);
      return obj instanceof PDFRef ? { kind: "objr", page, obj } : undefined;
    }
    const node: StructNode = { dict, kids: [], pages: new Set() };
    const kids = dict.get(K);
    const looked = this.context.lookup(kids);
    const items = looked instanceof PDFArray ? looked.asArray() : kids === undefined ? [] : [kids];
    for (const kid of items) {
      const child = this.read(kid, page, seen, depth + 1);
      if (!child) continue;
      node.kids.push(child);
      if ("kind" in child) {
        if (child.page) node.pages.add(child.page);
      } else for (const p of child.pages) node.pages.add(p);
    }
    return node;
  }

  /**
   * Copies the structure of `srcPage` into `dest` as its whole structure tree, for the page
   * copied there as `destPage` (with /StructParents 0). `copy` copies any other object
   * (attributes, an annotation) and says what an annotation became, undefined if not copied.
   */
  copyForPage(srcPage: PDFRef, dest: PDFContext, destPage: PDFDict, destPageRef: PDFRef, copier: StructureCopier): PDFRef {
    const parentTree: PDFObject[] = [];
    const nums: PDFObject[] = [];
    let nextKey = 1;
    const rootRef = dest.nextRef();
    // Annotations keep a parent tree key only if an element below claims them.
    const annots = dest.lookup(destPage.get(ANNOTS));
    if (annots instanceof PDFArray) {
      for (const annot of annots.asArray()) {
        const dict = dest.lookup(annot);
        if (dict instanceof PDFDict) dict.delete(STRUCT_PARENT);
      }
    }

    const copyNode = (node: StructNode, parent: PDFRef): PDFRef => {
      const ref = dest.nextRef();
      const copy = PDFDict.withContext(dest);
      for (const [key, value] of node.dict.entries()) {
        if (ELEMENT_KEYS.has(key)) copy.set(key, copier.copy(value));
      }
      copy.set(P, parent);
      const kids: PDFObject[] = [];
      let onPage = false;
      for (const kid of node.kids) {
        if (!("kind" in kid)) {
          if (kid.pages.has(srcPage)) kids.push(copyNode(kid, ref));
        } else if (kid.kind === "mcid") {
          if (kid.page !== srcPage) continue;
          kids.push(PDFNumber.of(kid.mcid));
          parentTree[kid.mcid] = ref;
          onPage = true;
        } else if (kid.page === srcPage || kid.page === undefined) {
          const annotation = copier.copied(kid.obj);
          const annotationDict = annotation && dest.lookup(annotation);
          if (!(annotation && annotationDict instanceof PDFDict)) continue;
          const key = nextKey++;
          annotationDict.set(STRUCT_PARENT, PDFNumber.of(key));
          nums.push(PDFNumber.of(key), ref);
          kids.push(dest.obj({ Type: OBJR, Pg: destPageRef, Obj: annotation }));
          onPage = true;
        }
      }
      if (onPage) copy.set(PG, destPageRef);
      if (kids.length === 1) copy.set(K, kids[0]!);
      else if (kids.length > 1) copy.set(K, dest.obj(kids));
      dest.assign(ref, copy);
      return ref;
    };

    const kids = this.roots.filter((node) => node.pages.has(srcPage)).map((node) => copyNode(node, rootRef));
    // Every MCID of the page has an entry; gaps (content not in the tree) are null.
    const array = dest.obj(Array.from(parentTree, (ref) => ref ?? null));
    nums.unshift(PDFNumber.of(0), dest.register(array));
    destPage.set(STRUCT_PARENTS, PDFNumber.of(0));
    const root = dest.obj({
      Type: STRUCT_TREE_ROOT,
      K: dest.obj(kids),
      ParentTree: dest.obj({ Nums: dest.obj(nums) }),
      ParentTreeNextKey: nextKey,
    });
    const classMap = this.root.get(CLASS_MAP);
    if (classMap !== undefined) root.set(CLASS_MAP, copier.copy(classMap));
    root.set(ROLE_MAP, roleMap(dest, this.context.lookup(this.root.get(ROLE_MAP)), copier));
    dest.assign(rootRef, root);
    return rootRef;
  }
}

/** What {@link LogicalStructure.copyForPage} needs from the page copier. */
export interface StructureCopier {
  copy(object: PDFObject): PDFObject;
  /** The copy of a source object already copied (with the page), or undefined. */
  copied(ref: PDFRef): PDFRef | undefined;
}

/** The source's role map (copied) with {@link ROLE_MAP_ENTRIES} added where it has no entry. */
export function roleMap(dest: PDFContext, source: PDFObject | undefined, copier?: StructureCopier): PDFDict {
  const map = source instanceof PDFDict && copier ? (copier.copy(source) as PDFDict) : PDFDict.withContext(dest);
  for (const [from, to] of ROLE_MAP_ENTRIES) {
    if (map.get(PDFName.of(from)) === undefined) map.set(PDFName.of(from), PDFName.of(to));
  }
  return map;
}

function pageRef(object: PDFObject | undefined): PDFRef | undefined {
  return object instanceof PDFRef ? object : undefined;
}
