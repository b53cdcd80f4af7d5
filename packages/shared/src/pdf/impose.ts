import { concatTransformationMatrix, drawObject, PDFDocument, popGraphicsState, pushGraphicsState, rgb, type PDFPage } from "pdf-lib";
import { readPdfBytes, type ConcatPdfSource } from "./concat.ts";
import { formXObjects } from "./form-xobjects.ts";
import { loadPdf } from "./page-copier.ts";

/** A sheet of paper divided into equal cells, one source page drawn in each. */
export interface SheetLayout {
  /** Sheet width and height in PDF points (1/72 inch). */
  width: number;
  height: number;
  columns: number;
  rows: number;
  /** Thin lines where the sheet is cut between cells. */
  cutMarks: boolean;
}

/** Where cut marks stay clear of the sheet edge (most printers cannot print the outer ~4 mm). */
const MM = 72 / 25.4;
const MARK_INSET = 2 * MM;
const MARK_LENGTH = 6 * MM;
const MARK_COLOR = rgb(0.45, 0.45, 0.45);
const MARK_THICKNESS = 0.3;

/** Pages waiting for a sheet, held with their parsed source until drawn. */
interface PendingPages {
  doc: PDFDocument;
  pages: PDFPage[];
}

/**
 * Draws the pages of `sources`, in order, onto sheets of `layout`: each page scaled to fit its
 * cell (aspect ratio kept), centred, left to right then top to bottom. Yields one PDF per source
 * with the sheets completed so far, for {@link concatPdfs} to join; the last one holds the last,
 * partly filled sheet. Sources are loaded one at a time; the pages that do not fill a sheet wait
 * for the next source, so at most a sheet's worth of earlier sources stays in memory.
 *
 * Pages become form XObjects: what they draw is kept, but not their tagged structure,
 * annotations or links.
 */
export async function* imposePdfs(
  sources: AsyncIterable<ConcatPdfSource> | Iterable<ConcatPdfSource>,
  layout: SheetLayout,
): AsyncGenerator<Uint8Array, void, undefined> {
  const perSheet = layout.columns * layout.rows;
  let waiting: PendingPages[] = [];
  let waitingCount = 0;
  for await (const source of sources) {
    const doc = await loadPdf(await readPdfBytes(source));
    const pages = doc.getPages();
    const drawNow = Math.floor((waitingCount + pages.length) / perSheet) * perSheet - waitingCount;
    if (drawNow <= 0) {
      waiting.push({ doc, pages });
      waitingCount += pages.length;
      continue;
    }
    yield await drawSheets([...waiting, { doc, pages: pages.slice(0, drawNow) }], layout);
    waiting = drawNow < pages.length ? [{ doc, pages: pages.slice(drawNow) }] : [];
    waitingCount = pages.length - drawNow;
  }
  if (waitingCount > 0) yield await drawSheets(waiting, layout);
}

async function drawSheets(groups: PendingPages[], layout: SheetLayout): Promise<Uint8Array> {
  const out = await PDFDocument.create({ updateMetadata: false });
  const forms = groups.flatMap((group) => formXObjects(out, group.pages));
  const perSheet = layout.columns * layout.rows;
  const cellWidth = layout.width / layout.columns;
  const cellHeight = layout.height / layout.rows;
  for (let first = 0; first < forms.length; first += perSheet) {
    const sheet = out.addPage([layout.width, layout.height]);
    for (const [offset, form] of forms.slice(first, first + perSheet).entries()) {
      const column = offset % layout.columns;
      const row = Math.floor(offset / layout.columns);
      const scale = Math.min(cellWidth / form.width, cellHeight / form.height);
      const x = column * cellWidth + (cellWidth - form.width * scale) / 2;
      const y = layout.height - (row + 1) * cellHeight + (cellHeight - form.height * scale) / 2;
      sheet.pushOperators(
        pushGraphicsState(),
        concatTransformationMatrix(scale, 0, 0, scale, x, y),
        drawObject(sheet.node.newXObject("Page", form.ref)),
        popGraphicsState(),
      );
    }
    if (layout.cutMarks) drawCutMarks(sheet, layout);
  }
  return out.save({ useObjectStreams: true, objectsPerTick: Infinity });
}

/**
 * Short lines on every cut between cells: at both sheet edges, and a cross where two cuts meet,
 * where the tickets' own margins leave the paper blank.
 */
function drawCutMarks(sheet: PDFPage, layout: SheetLayout): void {
  const { width, height } = layout;
  const line = (x1: number, y1: number, x2: number, y2: number) =>
    sheet.drawLine({ start: { x: x1, y: y1 }, end: { x: x2, y: y2 }, thickness: MARK_THICKNESS, color: MARK_COLOR });
  const xs = Array.from({ length: layout.columns - 1 }, (_, i) => ((i + 1) * width) / layout.columns);
  const ys = Array.from({ length: layout.rows - 1 }, (_, i) => ((i + 1) * height) / layout.rows);
  for (const x of xs) {
    line(x, MARK_INSET, x, MARK_INSET + MARK_LENGTH);
    line(x, height - MARK_INSET, x, height - MARK_INSET - MARK_LENGTH);
  }
  for (const y of ys) {
    line(MARK_INSET, y, MARK_INSET + MARK_LENGTH, y);
    line(width - MARK_INSET, y, width - MARK_INSET - MARK_LENGTH, y);
  }
  const half = MARK_LENGTH / 2;
  for (const x of xs) {
    for (const y of ys) {
      line(x - half, y, x + half, y);
      line(x, y - half, x, y + half);
    }
  }
}
