import { deflateSync } from "node:zlib";
import { PDFDocument, rgb, type Color, type PDFImage, type PDFPage } from "pdf-lib";
import { CardFonts, type TextRun, type Weight } from "./card-fonts.ts";
import { LOGO_BOX, type CardLogo } from "./card-logo.ts";
import type { CardLayout } from "./print-layouts.ts";
import { qrRectangles } from "./qr-rectangles.ts";

/** What a badge or label shows of a ticket. */
export interface CardTicket {
  guestName: string;
  ticketType: string;
  eventName: string;
  ticketCode: string;
  qrPayload: string;
}

const MM = 72 / 25.4;
const LINE_HEIGHT = 1.2;
const INK = rgb(0.1, 0.13, 0.21);
const MUTED = rgb(0.4, 0.44, 0.54);

/** A rectangle in points, from its bottom left corner (PDF coordinates). */
interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Text set in lines of runs, at the size that let it fit. */
interface SetText {
  size: number;
  lines: Array<{ runs: TextRun[]; width: number }>;
}

/** How a block of text may be set: largest size first, down to `minSize`. */
interface TextFit {
  weight: Weight | "mono";
  maxSize: number;
  minSize: number;
  maxWidth: number;
  maxHeight: number;
  /** Where lines may break: names between words, ticket codes after a hyphen. */
  breakAfter: RegExp;
}

/**
 * One PDF of badges or label sheets for `tickets`, in order: a badge per page, or labels left
 * to right and top to bottom, `layout.columns × layout.rows` a sheet, each with the `logo` when
 * given. Fonts are embedded once per document, subset to the glyphs drawn; the logo is embedded
 * once per document too, every card drawing the same image object. Documents embed it with the
 * same bytes, so the output that joins them (concatPdfs) holds it once.
 */
export async function drawCards(tickets: readonly CardTicket[], layout: CardLayout, logo?: CardLogo): Promise<Uint8Array> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const fonts = new CardFonts(doc);
  const image = logo && (logo.format === "png" ? await doc.embedPng(logo.data) : await doc.embedJpg(logo.data));
  const perSheet = layout.columns * layout.rows;
  let sheet: PDFPage | undefined;
  for (const [index, ticket] of tickets.entries()) {
    const slot = index % perSheet;
    if (slot === 0) sheet = doc.addPage([layout.width, layout.height]);
    const column = slot % layout.columns;
    const row = Math.floor(slot / layout.columns);
    const box = {
      x: layout.left + column * layout.cardWidth,
      y: layout.height - layout.top - (row + 1) * layout.cardHeight,
      width: layout.cardWidth,
      height: layout.cardHeight,
    };
    if (layout.name === "badge") await drawBadge(sheet!, box, ticket, fonts, image);
    else await drawLabel(sheet!, box, ticket, fonts, image);
  }
  return doc.save({ useObjectStreams: true, objectsPerTick: Infinity });
}

/**
 * Room on a badge with a logo: its box and the gap below it are taken from the guest's name
 * (105 pt: two lines at full size, three smaller) and the QR code (50 mm), so that the longest
 * event name, guest name and ticket type still clear the code. A 42 mm code keeps modules of
 * about 0.7 mm, which phone cameras read at arm's length.
 */
const BADGE = {
  plain: { logoSpace: 0, nameHeight: 105, qrSize: 50 * MM },
  withLogo: { logoSpace: LOGO_BOX.height + 3 * MM, nameHeight: 90, qrSize: 42 * MM },
};

/**
 * A name badge: the logo (when there is one), the event, the guest's name as large as it fits,
 * the ticket type, the QR code and ticket code below.
 */
async function drawBadge(page: PDFPage, box: Box, ticket: CardTicket, fonts: CardFonts, logo: PDFImage | undefined): Promise<void> {
  const margin = 10 * MM;
  const width = box.width - 2 * margin;
  const { logoSpace, nameHeight, qrSize } = logo ? BADGE.withLogo : BADGE.plain;
  const codeSize = 9;
  const bottom = box.y + margin;
  drawLines(
    page,
    await setText(fonts, ticket.ticketCode, codeLine(width, codeSize)),
    { ...box, y: bottom, height: 2 * codeSize },
    "center",
    MUTED,
  );
  drawQr(page, ticket.qrPayload, box.x + (box.width - qrSize) / 2, bottom + 2 * codeSize, qrSize);

  let top = box.y + box.height - margin;
  if (logo) drawLogo(page, logo, { x: box.x + margin, y: top - LOGO_BOX.height, width, height: LOGO_BOX.height }, "center");
  top -= logoSpace;
  const event = await setText(fonts, ticket.eventName, {
    weight: "regular",
    maxSize: 11,
    minSize: 7,
    maxWidth: width,
    maxHeight: 30,
    breakAfter: / /,
  });
  top = drawLines(page, event, { x: box.x + margin, y: top - 30, width, height: 30 }, "center", MUTED) - 14;
  const name = await setText(fonts, ticket.guestName, {
    weight: "bold",
    maxSize: 36,
    minSize: 10,
    maxWidth: width,
    maxHeight: nameHeight,
    breakAfter: / /,
  });
  top = drawLines(page, name, { x: box.x + margin, y: top - nameHeight, width, height: nameHeight }, "center", INK) - 10;
  const type = await setText(fonts, ticket.ticketType, {
    weight: "regular",
    maxSize: 16,
    minSize: 8,
    maxWidth: width,
    maxHeight: 40,
    breakAfter: / /,
  });
  drawLines(page, type, { x: box.x + margin, y: top - 40, width, height: 40 }, "center", INK);
}

/**
 * A label's logo: 6 mm high over the name, the width of the text column. It takes the space of
 * about one line of the name at its largest, which still leaves three (wrapping and shrinking
 * to fit as without a logo); the QR code and ticket code keep their size.
 */
const LABEL_LOGO_HEIGHT = 6 * MM;

/** An address-label-sized card: the logo (when there is one) over the guest's name and ticket code, beside the QR code. */
async function drawLabel(page: PDFPage, box: Box, ticket: CardTicket, fonts: CardFonts, logo: PDFImage | undefined): Promise<void> {
  const padding = 2 * MM;
  const qrSize = box.height - 2 * padding;
  drawQr(page, ticket.qrPayload, box.x + box.width - padding - qrSize, box.y + padding, qrSize);
  // The QR code's quiet zone is the gap between text and code.
  const text = { x: box.x + 2 * padding, width: box.width - 3 * padding - qrSize };
  const code = await setText(fonts, ticket.ticketCode, { ...codeLine(text.width, 7), minSize: 5, maxHeight: 2 * 7 * LINE_HEIGHT });
  const codeHeight = code.lines.length * code.size * LINE_HEIGHT;
  drawLines(page, code, { ...text, y: box.y + padding, height: codeHeight }, "left", MUTED);
  let nameTop = box.y + box.height - padding;
  if (logo) {
    drawLogo(page, logo, { ...text, y: nameTop - LABEL_LOGO_HEIGHT, height: LABEL_LOGO_HEIGHT }, "left");
    nameTop -= LABEL_LOGO_HEIGHT + 1 * MM;
  }
  const nameHeight = nameTop - box.y - padding - codeHeight - 2;
  const name = await setText(fonts, ticket.guestName, {
    weight: "bold",
    maxSize: 12,
    minSize: 5,
    maxWidth: text.width,
    maxHeight: nameHeight,
    breakAfter: / /,
  });
  drawLines(page, name, { ...text, y: nameTop - nameHeight, height: nameHeight }, "left", INK);
}

/** Draws the logo as large as fits `box`, its aspect kept, at the box's top: centred or at its left. */
function drawLogo(page: PDFPage, logo: PDFImage, box: Box, align: "left" | "center"): void {
  const { width, height } = logo.scaleToFit(box.width, box.height);
  const x = align === "center" ? box.x + (box.width - width) / 2 : box.x;
  page.drawImage(logo, { x, y: box.y + box.height - height, width, height });
}

const codeLine = (maxWidth: number, size: number): TextFit => ({
  weight: "mono",
  maxSize: size,
  minSize: size,
  maxWidth,
  maxHeight: 2 * size * LINE_HEIGHT,
  breakAfter: /-/,
});

/**
 * Draws the QR code black on white, `size` points square with its quiet zone, bottom left at
 * (x, y). Written as a content stream of its own: pdf-lib's drawing operations would build an
 * object per operator, ten times slower for a code's few hundred rectangles.
 */
function drawQr(page: PDFPage, payload: string, x: number, y: number, size: number): void {
  const qr = qrRectangles(payload);
  const scale = size / qr.size;
  // White square, then the modules in a space whose y grows downwards from the top left corner.
  const content = `q 1 1 1 rg ${x} ${y} ${size} ${size} re f 0 0 0 rg ${scale} 0 0 ${-scale} ${x} ${y + size} cm\n${qr.operators}\nf Q`;
  const { context } = page.doc;
  page.node.addContentStream(context.register(context.stream(deflateSync(content), { Filter: "FlateDecode" })));
}

/**
 * Sets `text` at the largest size (in half points) whose lines fit the width and height; at the
 * smallest size, lines are broken inside words when a word alone is too wide.
 */
async function setText(fonts: CardFonts, text: string, fit: TextFit): Promise<SetText> {
  const measure = async (line: string, size: number) => {
    const runs = fit.weight === "mono" ? await fonts.mono(line) : await fonts.runs(line, fit.weight);
    return { runs, width: runs.reduce((sum, run) => sum + run.widthAt(size), 0) };
  };
  for (let size = fit.maxSize; ; size -= 0.5) {
    const last = size - 0.5 < fit.minSize;
    const lines = await wrap(text, fit, size, last, measure);
    if (last || (lines && lines.length * size * LINE_HEIGHT <= fit.maxHeight)) return { size, lines: lines ?? [] };
  }
}

/** Greedy line breaking; undefined when a word does not fit and `breakWords` is false. */
async function wrap(
  text: string,
  fit: TextFit,
  size: number,
  breakWords: boolean,
  measure: (line: string, size: number) => Promise<{ runs: TextRun[]; width: number }>,
): Promise<Array<{ runs: TextRun[]; width: number }> | undefined> {
  const pieces = text.split(new RegExp(`(?<=${fit.breakAfter.source})`)).filter((piece) => piece !== "");
  const lines: string[] = [];
  let line = "";
  for (const piece of pieces) {
    if ((await measure((line + piece).trimEnd(), size)).width <= fit.maxWidth) {
      line += piece;
      continue;
    }
    if (line !== "") lines.push(line.trimEnd());
    line = piece.trimStart();
    if ((await measure(line.trimEnd(), size)).width <= fit.maxWidth) continue;
    if (!breakWords) return undefined;
    // A word wider than the line: broken between characters.
    let part = "";
    for (const char of line) {
      if (part !== "" && (await measure(part + char, size)).width > fit.maxWidth) {
        lines.push(part);
        part = "";
      }
      part += char;
    }
    line = part;
  }
  if (line.trim() !== "") lines.push(line.trimEnd());
  return Promise.all(lines.map((text) => measure(text, size)));
}

/** Draws set lines from the top of `box`, each aligned; returns the baseline of the last line. */
function drawLines(page: PDFPage, text: SetText, box: Box, align: "left" | "center", color: Color): number {
  let baseline = box.y + box.height - text.size;
  for (const line of text.lines) {
    let x = align === "center" ? box.x + (box.width - line.width) / 2 : box.x;
    for (const run of line.runs) {
      run.draw(page, { x, y: baseline, size: text.size, color });
      x += run.widthAt(text.size);
    }
    baseline -= text.size * LINE_HEIGHT;
  }
  return baseline + text.size * LINE_HEIGHT - text.size * 0.3;
}
