/**
 * The hand-coded limit for bench/render.ts: the built-in ticket template's content and layout
 * drawn straight into a PDF with pdfkit, no browser. A4, 20 mm margins, the coloured header band,
 * the stub with the QR code drawn as vector rectangles (level H, 1-module quiet zone, 150 pt as
 * the template's 200 px), DejaVu Sans / DejaVu Sans Mono embedded and subset by pdfkit. The texts
 * come from the worker's own view model (ticketView), so dates read exactly as on the HTML ticket.
 *
 * Not a production renderer: no tenant templates, and layout rules are hard-coded.
 */
import { readFileSync } from "node:fs";
import PDFDocument from "pdfkit";
import QRCode from "qrcode";
import type { RenderTicketJob } from "@ticketgen/shared";
import { ticketView } from "../../packages/render-worker/src/templates/index.ts";

const FONT_DIR = "/usr/share/fonts/truetype/dejavu";
// Read once; pdfkit still parses and subsets them for every document, as it must.
const SANS = readFileSync(`${FONT_DIR}/DejaVuSans.ttf`);
const MONO = readFileSync(`${FONT_DIR}/DejaVuSansMono.ttf`);

/** What the built-in template shows, already formatted (the worker's view model). */
export interface PdfkitTicket {
  french: boolean;
  eventName: string;
  eventDay: string;
  eventTime: string;
  eventEndDate?: string;
  location: string;
  guestName: string;
  email: string;
  ticketType: string;
  ticketCode: string;
  timezone: string;
  generatedAt: string;
  qrPayload: string;
}

/** The job's ticket as the template sees it (same view model, same date formatting). */
export function pdfkitTicket(job: RenderTicketJob, now: Date = new Date()): PdfkitTicket {
  const view = ticketView(job, "", now);
  const text = (key: string) => String(view[key] ?? "");
  return {
    french: /^fr(-|$)/.test(text("locale")),
    eventName: text("eventName"),
    eventDay: text("eventDay"),
    eventTime: text("eventTime"),
    ...(view.eventEndsOnOtherDay === true ? { eventEndDate: text("eventEndDate") } : {}),
    location: text("location"),
    guestName: `${text("firstName")} ${text("lastName")}`,
    email: text("email"),
    ticketType: text("ticketType"),
    ticketCode: text("ticketCode"),
    timezone: text("timezone"),
    generatedAt: text("generatedAt"),
    qrPayload: job.qrPayload,
  };
}

const LABELS = {
  fr: {
    kicker: "Billet d’entrée",
    date: "Date",
    time: "Horaire",
    ends: "Fin",
    venue: "Lieu",
    guest: "Titulaire",
    type: "Catégorie",
    stub: "Entrée · 1\u00a0personne",
    code: "Code du billet",
    notes: "Bon à savoir",
    items: (tz: string) => [
      "Présentez ce billet à l’entrée, imprimé ou sur l’écran de votre téléphone.",
      "Le code\u00a0QR est valable pour une seule personne et une seule entrée\u00a0: ne le partagez pas.",
      `Les horaires sont indiqués à l’heure locale du lieu (${tz}).`,
    ],
    footer: (t: PdfkitTicket) => `Billet émis au nom de ${t.guestName} (${t.email}) · Généré le ${t.generatedAt}`,
  },
  en: {
    kicker: "Admission ticket",
    date: "Date",
    time: "Time",
    ends: "Ends",
    venue: "Venue",
    guest: "Guest",
    type: "Ticket type",
    stub: "Admit one",
    code: "Ticket code",
    notes: "Good to know",
    items: (tz: string) => [
      "Show this ticket at the entrance, printed or on your phone screen.",
      "The QR code admits one person, once: keep it to yourself.",
      `Times are local to the venue (${tz}).`,
    ],
    footer: (t: PdfkitTicket) => `Issued to ${t.guestName} (${t.email}) · Generated ${t.generatedAt}`,
  },
};

// The template's stylesheet in points (1 CSS px = 0.75 pt).
const PX = 0.75;
const MM = 72 / 25.4;
const A4 = { width: 595.28, height: 841.89 };
const MARGIN = 20 * MM;
const WIDTH = A4.width - 2 * MARGIN;
const LINE_HEIGHT = 1.4;
const QR_SIZE = 200 * PX;
const QR_MARGIN = 1;
const STUB_WIDTH = QR_SIZE + 2 * 6 * PX + 2 * 18 * PX;
const COLOURS = {
  ink: "#1b2236",
  brand: "#23336b",
  kicker: "#c3cdf0",
  muted: "#687189",
  border: "#c9cfdd",
  perforation: "#aab2c8",
  stubBand: "#e6eaf6",
  notes: "#f4f6fb",
  notesInk: "#3a4257",
};

type Doc = PDFKit.PDFDocument;

/** Sets font and size; returns the options that give CSS line-height 1.4 (or `lineHeight`). */
function style(doc: Doc, font: "sans" | "mono", size: number, lineHeight = LINE_HEIGHT): { lineGap: number } {
  doc.font(font).fontSize(size);
  return { lineGap: size * lineHeight - doc.currentLineHeight(true) };
}

/** One ticket, A4, as a PDF. */
export function drawTicketPdf(ticket: PdfkitTicket): Promise<Buffer> {
  const labels = ticket.french ? LABELS.fr : LABELS.en;
  const doc = new PDFDocument({
    size: "A4",
    margin: 0,
    autoFirstPage: true,
    compress: true,
    lang: ticket.french ? "fr" : "en",
    info: { Title: `${ticket.eventName} · ${ticket.ticketCode}` },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on("data", (chunk: Buffer) => chunks.push(chunk));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
  });
  doc.registerFont("sans", SANS);
  doc.registerFont("mono", MONO);

  const left = MARGIN;
  const top = MARGIN;
  const mainWidth = WIDTH - STUB_WIDTH;
  const stubX = left + mainWidth;

  // --- main section: band, then the details grid -------------------------------------------
  const bandPad = { top: 16 * PX, x: 22 * PX, bottom: 18 * PX };
  const textWidth = mainWidth - 2 * bandPad.x;
  const kicker = style(doc, "sans", 7.5);
  const kickerHeight = doc.heightOfString(labels.kicker.toUpperCase(), { width: textWidth, characterSpacing: 0.16 * 7.5, ...kicker });
  const h1 = style(doc, "sans", 23, 1.15);
  const h1Height = doc.heightOfString(ticket.eventName, { width: textWidth, ...h1 });
  const bandHeight = bandPad.top + kickerHeight + 6 * PX + h1Height + bandPad.bottom;

  const rows: Array<[string, string, boolean]> = [
    [labels.date, ticket.eventDay, false],
    [labels.time, ticket.eventTime, false],
    ...(ticket.eventEndDate ? ([[labels.ends, ticket.eventEndDate, false]] as Array<[string, string, boolean]>) : []),
    [labels.venue, ticket.location, false],
    [labels.guest, ticket.guestName, true],
    [labels.type, ticket.ticketType, false],
  ];
  const dt = style(doc, "sans", 7);
  const dtWidth = Math.max(...rows.map(([label]) => doc.widthOfString(label.toUpperCase(), { characterSpacing: 0.12 * 7 })));
  const ddX = left + bandPad.x + dtWidth + 16 * PX;
  const ddWidth = mainWidth - bandPad.x - (ddX - left);
  const layout = rows.map(([label, value, guest]) => {
    const size = guest ? 13.5 : 10.5;
    const options = { width: ddWidth, ...style(doc, "sans", size) };
    return { label, value, size, guest, options, height: doc.heightOfString(value, options) };
  });
  const detailsHeight = 16 * PX + layout.reduce((sum, row) => sum + row.height, 0) + 7 * PX * (layout.length - 1) + 18 * PX;
  const mainHeight = bandHeight + detailsHeight;

  // --- stub: band, QR, code ------------------------------------------------------------------
  const stubBandHeight = 8 * PX + 7.5 * LINE_HEIGHT + 8 * PX;
  const qrTop = top + stubBandHeight + 12 * PX + 6 * PX;
  const codeLabelTop = qrTop + QR_SIZE + 6 * PX + 6 * PX;
  const codeTop = codeLabelTop + 6.5 * LINE_HEIGHT + 2 * PX;
  const codeWidth = STUB_WIDTH - 2 * 14 * PX;
  const code = style(doc, "mono", 8.5);
  const codeHeight = doc.heightOfString(ticket.ticketCode, { width: codeWidth, align: "center", ...code });
  const stubHeight = codeTop + codeHeight + 14 * PX - top;
  const height = Math.max(mainHeight, stubHeight);

  // Backgrounds inside the rounded frame (overflow: hidden).
  doc.save();
  doc.roundedRect(left, top, WIDTH, height, 10 * PX).clip();
  doc.rect(left, top, mainWidth, bandHeight).fill(COLOURS.brand);
  doc.rect(stubX, top, STUB_WIDTH, stubBandHeight).fill(COLOURS.stubBand);
  doc.restore();
  doc
    .roundedRect(left, top, WIDTH, height, 10 * PX)
    .lineWidth(1 * PX)
    .stroke(COLOURS.border);
  // Perforation and its two notches.
  doc.save();
  doc
    .moveTo(stubX, top)
    .lineTo(stubX, top + height)
    .lineWidth(2 * PX)
    .dash(2 * PX * 3, { space: 2 * PX * 3 })
    .stroke(COLOURS.perforation);
  doc.restore();
  doc.save();
  doc.roundedRect(left, top, WIDTH, height, 10 * PX).clip();
  for (const y of [top, top + height])
    doc
      .circle(stubX - 1 * PX, y, 9 * PX)
      .lineWidth(1 * PX)
      .fillAndStroke("#ffffff", COLOURS.border);
  doc.restore();

  // Band texts.
  let y = top + bandPad.top;
  style(doc, "sans", 7.5);
  doc
    .fillColor(COLOURS.kicker)
    .text(labels.kicker.toUpperCase(), left + bandPad.x, y, { width: textWidth, characterSpacing: 0.16 * 7.5, ...kicker });
  y += kickerHeight + 6 * PX;
  style(doc, "sans", 23, 1.15);
  doc.fillColor("#ffffff").text(ticket.eventName, left + bandPad.x, y, { width: textWidth, ...h1 });

  // Details grid, label and value on one baseline.
  y = top + bandHeight + 16 * PX;
  for (const row of layout) {
    const baseline = y + (row.size * LINE_HEIGHT - row.size) / 2 + row.size * 0.93;
    style(doc, "sans", 7);
    doc.fillColor(COLOURS.muted).text(row.label.toUpperCase(), left + bandPad.x, baseline, {
      characterSpacing: 0.12 * 7,
      baseline: "alphabetic",
      lineBreak: false,
      ...dt,
    });
    style(doc, "sans", row.size);
    doc.fillColor(row.guest ? COLOURS.brand : COLOURS.ink).text(row.value, ddX, baseline, { ...row.options, baseline: "alphabetic" });
    y += row.height + 7 * PX;
  }

  // Stub texts and QR.
  style(doc, "sans", 7.5);
  doc.fillColor(COLOURS.brand).text(labels.stub.toUpperCase(), stubX, top + 8 * PX, {
    width: STUB_WIDTH,
    align: "center",
    characterSpacing: 0.16 * 7.5,
    lineBreak: false,
    ...kicker,
  });
  drawQr(doc, ticket.qrPayload, stubX + (STUB_WIDTH - QR_SIZE) / 2, qrTop, QR_SIZE);
  const codeLabel = style(doc, "sans", 6.5);
  doc.fillColor(COLOURS.muted).text(labels.code.toUpperCase(), stubX, codeLabelTop, {
    width: STUB_WIDTH,
    align: "center",
    characterSpacing: 0.12 * 6.5,
    ...codeLabel,
  });
  style(doc, "mono", 8.5);
  doc.fillColor(COLOURS.ink).text(ticket.ticketCode, stubX + 14 * PX, codeTop, { width: codeWidth, align: "center", ...code });

  // Notes box.
  const notesTop = top + height + 10 * MM;
  const notesPad = { y: 12 * PX, x: 16 * PX };
  const notesTextX = left + 3 * PX + notesPad.x;
  const notesWidth = WIDTH - 3 * PX - 2 * notesPad.x;
  const h2 = style(doc, "sans", 9);
  const h2Height = doc.heightOfString(labels.notes, { width: notesWidth, characterSpacing: 0.06 * 9, ...h2 });
  const li = style(doc, "sans", 8.5);
  const itemOptions = { width: notesWidth - 14 * PX, ...li };
  const items = labels.items(ticket.timezone).map((item) => ({ item, height: doc.heightOfString(item, itemOptions) }));
  const notesHeight = notesPad.y + h2Height + 4 * PX + items.reduce((sum, i) => sum + i.height, 0) + notesPad.y;
  doc.rect(left, notesTop, WIDTH, notesHeight).fill(COLOURS.notes);
  doc.rect(left, notesTop, 3 * PX, notesHeight).fill(COLOURS.brand);
  y = notesTop + notesPad.y;
  style(doc, "sans", 9);
  doc.fillColor(COLOURS.brand).text(labels.notes, notesTextX, y, { width: notesWidth, characterSpacing: 0.06 * 9, ...h2 });
  y += h2Height + 4 * PX;
  style(doc, "sans", 8.5);
  doc.fillColor(COLOURS.notesInk);
  for (const { item, height: itemHeight } of items) {
    doc.text("•", notesTextX + 4 * PX, y, { lineBreak: false, ...li });
    doc.text(item, notesTextX + 14 * PX, y, itemOptions);
    y += itemHeight;
  }

  // Footer.
  const footer = style(doc, "sans", 7.5);
  doc.fillColor(COLOURS.muted).text(labels.footer(ticket), left, notesTop + notesHeight + 6 * MM, { width: WIDTH, ...footer });

  doc.end();
  return done;
}

/** The QR code as vector: a white square, then each horizontal run of dark modules as one rectangle, filled at once. */
function drawQr(doc: Doc, token: string, x: number, y: number, size: number): void {
  const modules = QRCode.create(token, { errorCorrectionLevel: "H" }).modules;
  const n = modules.size;
  const unit = size / (n + 2 * QR_MARGIN);
  doc.rect(x - 6 * PX, y - 6 * PX, size + 12 * PX, size + 12 * PX).fill("#ffffff");
  for (let row = 0; row < n; row++) {
    let col = 0;
    while (col < n) {
      if (!modules.get(row, col)) {
        col++;
        continue;
      }
      const start = col;
      while (col < n && modules.get(row, col)) col++;
      doc.rect(x + (QR_MARGIN + start) * unit, y + (QR_MARGIN + row) * unit, (col - start) * unit, unit);
    }
  }
  doc.fill("#000000");
}
