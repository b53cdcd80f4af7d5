export { splitPdfPages, pdfPageCount, type SplitPdfOptions } from "./split.ts";
export { concatPdfs, type ConcatPdfSource, type ConcatPdfsOptions, type PdfBytes } from "./concat.ts";
export { applyDocumentInfo, withDocumentInfo, type PdfDocumentInfo } from "./document-info.ts";
export { imposePdfs, type SheetLayout } from "./impose.ts";
