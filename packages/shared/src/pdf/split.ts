import { PDFDocument, PDFName, PDFNull, PDFPage } from "pdf-lib";
import { applyDocumentInfo, type PdfDocumentInfo } from "./document-info.ts";
import { loadPdf, PageCopier } from "./page-copier.ts";
import { LANG, LogicalStructure, MARK_INFO, STRUCT_TREE_ROOT } from "./structure.ts";

const VIEWER_PREFERENCES = PDFName.of("ViewerPreferences");

/** Number of pages of a PDF. */
export async function pdfPageCount(pdf: Uint8Array): Promise<number> {
  return (await loadPdf(pdf)).getPageCount();
}

export interface SplitPdfOptions {
  /** The metadata of each output, by page index (see {@link applyDocumentInfo}). */
  info?: (pageIndex: number) => PdfDocumentInfo | undefined;
}

/**
 * One single-page PDF per page of `pdf`, in page order. Each output holds only what its
 * page references (content, resources with inherited ones made explicit, fonts, images,
 * annotations), saved with object streams (about 10% smaller than classic xref here). A tagged
 * source gives tagged outputs: each carries the structure elements with content on its page
 * (with their ancestors), its own parent tree, /MarkInfo, /Lang and the viewer preferences.
 * Links to other pages or to named destinations are dropped; outlines and forms are not carried.
 */
export async function splitPdfPages(pdf: Uint8Array, options: SplitPdfOptions = {}): Promise<Uint8Array[]> {
  const src = await loadPdf(pdf);
  const pages = src.getPages();
  const structure = LogicalStructure.of(src.context, src.catalog);
  const producer = src.getProducer();
  const outputs: Uint8Array[] = [];
  for (const [index, page] of pages.entries()) {
    const doc = await PDFDocument.create({ updateMetadata: false });
    const copier = new PageCopier(src.context, doc.context);
    const ref = doc.context.nextRef();
    for (const other of pages) copier.mapPage(other.ref, other === page ? ref : PDFNull);
    const leaf = copier.copyPage(page.node); // addPage sets /Parent
    doc.context.assign(ref, leaf);
    doc.addPage(PDFPage.of(leaf, ref, doc));
    if (structure) {
      doc.catalog.set(STRUCT_TREE_ROOT, structure.copyForPage(page.ref, doc.context, leaf, ref, copier));
      doc.catalog.set(MARK_INFO, doc.context.obj({ Marked: true }));
      if (structure.lang !== undefined) doc.catalog.set(LANG, copier.copy(structure.lang));
    }
    const viewerPreferences = src.catalog.get(VIEWER_PREFERENCES);
    if (viewerPreferences !== undefined) doc.catalog.set(VIEWER_PREFERENCES, copier.copy(viewerPreferences));
    const info = options.info?.(index);
    if (info) {
      if (producer) doc.setProducer(producer); // the engine that drew the page, which applyDocumentInfo keeps
      applyDocumentInfo(doc, info);
    }
    outputs.push(await doc.save({ useObjectStreams: true, objectsPerTick: Infinity }));
  }
  return outputs;
}
