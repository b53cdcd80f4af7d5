import { PDFDocument, PDFNull, PDFPage } from "pdf-lib";
import { loadPdf, PageCopier } from "./page-copier.ts";

/** Number of pages of a PDF. */
export async function pdfPageCount(pdf: Uint8Array): Promise<number> {
  return (await loadPdf(pdf)).getPageCount();
}

/**
 * One single-page PDF per page of `pdf`, in page order. Each output holds only what its
 * page references (content, resources with inherited ones made explicit, fonts, images,
 * annotations), saved with object streams (about 10% smaller than classic xref here). Links
 * to other pages or to named destinations are dropped; outlines, forms, the structure tree
 * and document metadata are not carried.
 */
export async function splitPdfPages(pdf: Uint8Array): Promise<Uint8Array[]> {
  const src = await loadPdf(pdf);
  const pages = src.getPages();
  const outputs: Uint8Array[] = [];
  for (const page of pages) {
    const doc = await PDFDocument.create({ updateMetadata: false });
    const copier = new PageCopier(src.context, doc.context);
    const ref = doc.context.nextRef();
    for (const other of pages) copier.mapPage(other.ref, other === page ? ref : PDFNull);
    const leaf = copier.copyPage(page.node); // addPage sets /Parent
    doc.context.assign(ref, leaf);
    doc.addPage(PDFPage.of(leaf, ref, doc));
    outputs.push(await doc.save({ useObjectStreams: true, objectsPerTick: Infinity }));
  }
  return outputs;
}
