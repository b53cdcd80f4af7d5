export { splitPdfPages, pdfPageCount } from "./split.ts";
export { concatPdfs, type ConcatPdfSource, type ConcatPdfsOptions, type PdfBytes } from "./concat.ts";
