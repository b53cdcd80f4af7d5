const PAGE_OBJECT = /\/Type\s*\/Page(?![A-Za-z])/g;

/**
 * Pages of a PDF Chromium printed, counted without parsing it (pdf-lib would cost a few ms a
 * ticket): Chromium (Skia) writes every page object uncompressed as `/Type /Page`. Text a
 * template controls lands in compressed content streams or escaped strings, so it can add to
 * the count only through the document title, which can only fail its own ticket.
 */
export function pdfPageCount(pdf: Uint8Array): number {
  return Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength).toString("latin1").match(PAGE_OBJECT)?.length ?? 0;
}
