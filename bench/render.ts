/**
 * Rendering cost on this machine, every baseline measured in the same run on the same ticket
 * HTML (built-in template, French, QR drawn as in production):
 *
 * - Scenario 2, one ticket, one PDF: the render worker's pooled Chromium (1 and 2 pages in
 *   parallel) against the old design's browser launched per ticket (waitUntil networkidle), and
 *   against the hand-coded limit: the same ticket drawn directly with pdfkit
 *   (bench/support/pdfkit-ticket.ts: vector QR, DejaVu Sans embedded and subset).
 * - Scenario 3, batch render: a 100-ticket chunk printed as ONE Chromium document and split into
 *   one PDF per ticket (`renderer.pdfs`, the whole call) against 100 pooled single renders
 *   (`renderer.pdf` × 100, 1 page, then 2 pages in parallel), repeated, interleaved; then where
 *   Chromium's time goes (setContent vs page.pdf vs split, for 1, 10 and 100 tickets a document).
 *
 *   node_modules/.bin/tsx bench/render.ts [--pooled N] [--per-ticket N] [--pdfkit N] [--chunk N] [--reps N]
 *
 * Prints Markdown tables; hands one figure per row to `pnpm bench` (scenarios "render-single"
 * and "render-chunk"). Every PDF produced is checked to start with %PDF-, and one sample of each
 * approach is read back with pdftotext (poppler-utils) for its guest's name.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import {
  createKeyRing,
  createLogger,
  generateTicketCode,
  loadWorkerConfig,
  signToken,
  splitPdfPages,
  type RenderTicketJob,
} from "@ticketgen/shared";
import { BrowserPool, CHROMIUM_ARGS, chromiumSandbox, TemplateRegistry, TemplateSandbox, TicketRenderer } from "@ticketgen/render-worker";
import { combineDocuments } from "../packages/render-worker/src/pipeline/combine-documents.ts";
import { drawTicketPdf, pdfkitTicket } from "./support/pdfkit-ticket.ts";
import { emit, quantile, type Figure } from "./support/report.ts";

const { values } = parseArgs({
  options: {
    pooled: { type: "string", default: "60" },
    "per-ticket": { type: "string", default: "8" },
    pdfkit: { type: "string", default: "100" },
    chunk: { type: "string", default: "100" },
    reps: { type: "string", default: "3" },
  },
});
const POOLED = Number(values.pooled);
const PER_TICKET = Number(values["per-ticket"]);
const PDFKIT = Number(values.pdfkit);
const CHUNK = Number(values.chunk);
const REPS = Number(values.reps);
const CHROMIUM = process.env.CHROMIUM_EXECUTABLE_PATH ?? "/usr/bin/chromium";
const PDF = { format: "A4", printBackground: true, margin: { top: "20mm", right: "20mm", bottom: "20mm", left: "20mm" } } as const;

const ring = createKeyRing([{ kid: "K1", secret: Buffer.from("bench secret: 32 bytes or more, not a real one!!") }]);

function job(i: number): RenderTicketJob {
  const ticketId = randomUUID();
  return {
    tenantId: "bench",
    ticketId,
    ticketCode: generateTicketCode(),
    qrPayload: signToken(ring, { ticketId, eventId: "bench-gala", expiresAt: new Date(Date.now() + 86_400_000) }),
    templateId: "",
    templateVersion: 0,
    locale: "fr",
    event: {
      id: "bench-gala",
      name: "Gala de bienfaisance",
      startsAt: "2031-03-05T18:30:00Z",
      endsAt: "2031-03-05T23:00:00Z",
      location: "Salle Pleyel, Paris",
      timezone: "Europe/Paris",
    },
    guest: { id: `g${i}`, firstName: "Guest", lastName: `Number ${i}`, email: `guest${i}@example.com` },
    ticketType: { id: "std", name: "Standard" },
    createdAt: new Date().toISOString(),
  };
}
const guestName = (i: number) => `Guest Number ${i}`;

// --- checks -------------------------------------------------------------------------------------

const PDF_MAGIC = Buffer.from("%PDF-");
let pdfsChecked = 0;
function checkPdf(pdf: Uint8Array | Error | undefined, what: string): Uint8Array {
  if (!(pdf instanceof Uint8Array)) throw new Error(`${what}: no PDF (${pdf?.message ?? "none"})`);
  if (pdf.length < PDF_MAGIC.length || !Buffer.from(pdf.buffer, pdf.byteOffset, PDF_MAGIC.length).equals(PDF_MAGIC)) {
    throw new Error(`${what}: not a PDF (starts with ${JSON.stringify(Buffer.from(pdf.subarray(0, 8)).toString("latin1"))})`);
  }
  pdfsChecked++;
  return pdf;
}

const scratch = mkdtempSync(join(tmpdir(), "ticketgen-bench-render-"));
const samplesRead: string[] = [];
/** Reads one sample back with poppler: its page count, and its guest's name in its text. */
function readBack(pdf: Uint8Array, what: string, guestIndex: number, pages = 1): void {
  const file = join(scratch, `sample-${samplesRead.length}.pdf`);
  writeFileSync(file, pdf);
  const info = execFileSync("pdfinfo", [file], { encoding: "utf8" });
  const pageCount = Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
  if (pageCount !== pages) throw new Error(`${what}: ${pageCount} page(s), expected ${pages}`);
  const text = execFileSync("pdftotext", ["-q", file, "-"], { encoding: "utf8" });
  if (!new RegExp(`${guestName(guestIndex)}(?!\\d)`).test(text))
    throw new Error(`${what}: pdftotext does not find "${guestName(guestIndex)}"`);
  samplesRead.push(what);
}

// --- scenario 2: one ticket, one PDF ------------------------------------------------------------

interface Row {
  name: string;
  perTicketMs: number[];
  wallMs: number;
  count: number;
  bytes: number;
}

/** Renders `htmls` (of `jobs`) one PDF each on `concurrency` pooled pages; per-render latency, wall time, bytes. */
async function renderSingles(
  renderer: TicketRenderer,
  htmls: readonly string[],
  jobs: readonly RenderTicketJob[],
  concurrency: number,
  what: string,
) {
  const perTicketMs: number[] = [];
  const pdfs: Buffer[] = new Array<Buffer>(htmls.length);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < htmls.length) {
        const i = next++;
        const t = performance.now();
        pdfs[i] = await renderer.pdf(htmls[i]!, jobs[i]!);
        perTicketMs.push(performance.now() - t);
      }
    }),
  );
  const wallMs = performance.now() - started;
  let bytes = 0;
  for (const [i, pdf] of pdfs.entries()) bytes += checkPdf(pdf, `${what} #${i}`).length;
  return { perTicketMs, wallMs, bytes, pdfs };
}

const pagesLabel = (concurrency: number) => `${concurrency} page${concurrency > 1 ? "s" : ""} in parallel`;

async function pooled(renderer: TicketRenderer, concurrency: number): Promise<Row> {
  const jobs = Array.from({ length: POOLED }, (_, i) => job(i));
  const htmls = await Promise.all(jobs.map((j) => renderer.html(j)));
  const name = `pooled worker, ${pagesLabel(concurrency)}`;
  const { perTicketMs, wallMs, bytes, pdfs } = await renderSingles(renderer, htmls, jobs, concurrency, name);
  if (concurrency === 1) readBack(pdfs[3]!, name, 3);
  return { name, perTicketMs, wallMs, count: POOLED, bytes };
}

async function browserPerTicket(renderer: TicketRenderer): Promise<Row> {
  const name = "old design: a browser launched per ticket (networkidle)";
  const perTicketMs: number[] = [];
  let bytes = 0;
  const started = performance.now();
  for (let i = 0; i < PER_TICKET; i++) {
    const html = await renderer.html(job(i));
    const t = performance.now();
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    await page.setContent(html, { waitUntil: "networkidle" });
    const pdf = await page.pdf(PDF);
    await browser.close();
    perTicketMs.push(performance.now() - t);
    bytes += checkPdf(pdf, `${name} #${i}`).length;
    if (i === 3) readBack(pdf, name, 3);
  }
  return { name, perTicketMs, wallMs: performance.now() - started, count: PER_TICKET, bytes };
}

/** The hand-coded limit: job's view → pdfkit → PDF, in this process (times include QR encoding). */
async function pdfkitDirect(): Promise<Row> {
  const name = "hand-coded limit: pdfkit, drawn directly (vector QR, embedded DejaVu)";
  const now = new Date();
  for (let i = 0; i < 10; i++) await drawTicketPdf(pdfkitTicket(job(i), now)); // JIT warm-up
  const tickets = Array.from({ length: PDFKIT }, (_, i) => pdfkitTicket(job(i), now));
  const perTicketMs: number[] = [];
  let bytes = 0;
  const started = performance.now();
  for (const [i, ticket] of tickets.entries()) {
    const t = performance.now();
    const pdf = await drawTicketPdf(ticket);
    perTicketMs.push(performance.now() - t);
    bytes += checkPdf(pdf, `${name} #${i}`).length;
    if (i === 3) readBack(pdf, name, 3);
  }
  return { name, perTicketMs, wallMs: performance.now() - started, count: PDFKIT, bytes };
}

// --- scenario 3: a chunk as one document vs single renders --------------------------------------

interface ChunkRow {
  name: string;
  /** ms per ticket of each repetition (the repetition's wall time ÷ chunk size). */
  msPerTicket: number[];
  wallMs: number;
  tickets: number;
  bytes: number;
  documentBytes?: number;
}

async function chunkScenario(renderer: TicketRenderer): Promise<ChunkRow[]> {
  const jobs = Array.from({ length: CHUNK }, (_, i) => job(i));
  const htmls = await Promise.all(jobs.map((j) => renderer.html(j)));
  const one: ChunkRow = {
    name: `one document of ${CHUNK} tickets, split (renderer.pdfs)`,
    msPerTicket: [],
    wallMs: 0,
    tickets: 0,
    bytes: 0,
    documentBytes: 0,
  };
  const singles = [1, 2].map<ChunkRow>((concurrency) => ({
    name: `${CHUNK} single renders (renderer.pdf), ${pagesLabel(concurrency)}`,
    msPerTicket: [],
    wallMs: 0,
    tickets: 0,
    bytes: 0,
  }));

  await renderer.pdfs(htmls, jobs); // warm-up: Chromium's first long document
  for (let rep = 0; rep < REPS; rep++) {
    const t = performance.now();
    const { document, tickets } = await renderer.pdfs(htmls, jobs);
    const ms = performance.now() - t;
    one.msPerTicket.push(ms / CHUNK);
    one.wallMs += ms;
    one.tickets += CHUNK;
    if (tickets.length !== CHUNK) throw new Error(`renderer.pdfs: ${tickets.length} PDFs for ${CHUNK} tickets`);
    const whole = checkPdf(document, "chunk document");
    one.documentBytes! += whole.length;
    for (const [i, pdf] of tickets.entries()) one.bytes += checkPdf(pdf, `chunk ticket #${i}`).length;
    if (rep === 0) {
      readBack(whole, "one document of the chunk (whole)", 0, CHUNK);
      readBack(checkPdf(tickets[37], "chunk ticket #37"), "one document of the chunk, split: ticket #37", 37);
    }

    for (const [k, concurrency] of [1, 2].entries()) {
      const row = singles[k]!;
      const { wallMs, bytes, pdfs } = await renderSingles(renderer, htmls, jobs, concurrency, row.name);
      row.msPerTicket.push(wallMs / CHUNK);
      row.wallMs += wallMs;
      row.tickets += CHUNK;
      row.bytes += bytes;
      if (rep === 0 && concurrency === 1) readBack(pdfs[37]!, `${row.name}: ticket #37`, 37);
    }
  }
  return [one, ...singles];
}

interface Breakdown {
  tickets: number;
  setContentMs: number;
  printMs: number;
  splitMs: number;
}

/** setContent, page.pdf and split timed apart, on the worker's pooled page, for n tickets a document. */
async function breakdown(pool: BrowserPool, renderer: TicketRenderer, n: number, runs: number): Promise<Breakdown> {
  const htmls = await Promise.all(Array.from({ length: n }, (_, i) => renderer.html(job(i))));
  const html = n === 1 ? htmls[0]! : combineDocuments(htmls);
  const setContent: number[] = [];
  const print: number[] = [];
  const split: number[] = [];
  for (let r = 0; r < runs; r++) {
    const pdf = await pool.withPage(async (page) => {
      let t = performance.now();
      await page.setContent(html, { waitUntil: "load" });
      setContent.push(performance.now() - t);
      t = performance.now();
      const pdf = await page.pdf(PDF);
      print.push(performance.now() - t);
      return pdf;
    });
    checkPdf(pdf, `breakdown, ${n} tickets`);
    if (n > 1) {
      const t = performance.now();
      const pages = await splitPdfPages(pdf);
      split.push(performance.now() - t);
      if (pages.length !== n) throw new Error(`breakdown: ${pages.length} pages for ${n} tickets`);
    }
  }
  return { tickets: n, setContentMs: quantile(setContent, 0.5), printMs: quantile(print, 0.5), splitMs: n > 1 ? quantile(split, 0.5) : 0 };
}

// --- report -------------------------------------------------------------------------------------

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (x: number) => (x >= 10 ? x.toFixed(0) : x.toFixed(1));
const throughputRatio = (rate: number, baselineRate: number) => {
  const r = rate / baselineRate;
  return r >= 1 ? `${r.toFixed(r >= 10 ? 0 : 1)}× the throughput` : `${(1 / r).toFixed(1)}× less throughput`;
};

async function main() {
  const started = performance.now();
  // The worker's page recycling; no browser recycling mid-measurement.
  const config = loadWorkerConfig({});
  const pool = new BrowserPool(
    {
      executablePath: CHROMIUM,
      maxRendersPerBrowser: 100_000,
      maxTicketsPerPage: config.browserPageMaxTickets,
      renderTimeoutMs: 60_000,
      sandbox: chromiumSandbox(config.chromiumSandbox),
    },
    createLogger("bench", "warn"),
  );
  const sandbox = new TemplateSandbox({
    threads: config.templateThreads,
    timeoutMs: config.templateTimeoutMs,
    maxOutputBytes: config.templateMaxOutputBytes,
    maxMemoryMb: config.templateMaxMemoryMb,
  });
  const renderer = new TicketRenderer(pool, new TemplateRegistry({}), sandbox, {
    qr: { size: 200, margin: 1 },
    timeoutMs: 60_000,
    maxPagesPerTicket: config.maxPagesPerTicket,
  });
  for (let i = 0; i < 5; i++) {
    const warmUp = job(i);
    await renderer.pdf(await renderer.html(warmUp), warmUp);
  }

  // Scenario 2.
  const baseline = await browserPerTicket(renderer);
  const rows = [await pooled(renderer, 1), await pooled(renderer, 2), baseline, await pdfkitDirect()];

  // Scenario 3, then the breakdown.
  const chunkRows = await chunkScenario(renderer);
  const parts = [await breakdown(pool, renderer, 1, 15), await breakdown(pool, renderer, 10, 5), await breakdown(pool, renderer, CHUNK, 3)];
  await pool.close();
  await sandbox.close();
  rmSync(scratch, { recursive: true, force: true });

  const figures: Figure[] = [];
  console.log(
    `Render benchmark — node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}), ${new Date().toISOString()}`,
  );
  console.log();
  console.log("### Scenario 2: one ticket, one PDF");
  console.log();
  const baselineRate = baseline.count / (baseline.wallMs / 1000);
  const baselineMedian = quantile(baseline.perTicketMs, 0.5);
  console.log(
    "| rendering one ticket to PDF | tickets | median per ticket | p95 per ticket | tickets/s | vs browser per ticket | PDF size (mean) |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    const rate = row.count / (row.wallMs / 1000);
    const median = quantile(row.perTicketMs, 0.5);
    const p95 = quantile(row.perTicketMs, 0.95);
    const ratio = row === baseline ? "baseline" : throughputRatio(rate, baselineRate);
    console.log(
      `| ${row.name} | ${row.count} | ${ms(median)} ms | ${ms(p95)} ms | ${rate.toFixed(2)} | ${ratio} | ${kb(row.bytes / row.count)} |`,
    );
    figures.push({
      scenario: "render-single",
      name: row.name,
      unit: "ms",
      median,
      p95,
      samples: row.count,
      baseline: { name: baseline.name, median: baselineMedian },
      ratio: median / baselineMedian,
    });
    figures.push({ scenario: "render-single", name: `${row.name}: PDF size`, unit: "KB", value: row.bytes / row.count / 1024 });
  }
  console.log();
  console.log(
    "Same ticket everywhere (built-in fr template; QR as SVG for Chromium, as vector rectangles for pdfkit); Chromium times exclude templating and QR encoding (done before, in `renderer.html`), pdfkit times include QR encoding and font subsetting; per-ticket time of the parallel row is one page's latency.",
  );

  console.log();
  console.log(`### Scenario 3: a ${CHUNK}-ticket chunk, one document vs single renders`);
  console.log();
  const [one, single1, single2] = chunkRows as [ChunkRow, ChunkRow, ChunkRow];
  const chunkBaselineMedian = quantile(single1.msPerTicket, 0.5);
  const chunkBaselineRate = single1.tickets / (single1.wallMs / 1000);
  console.log(
    `| rendering ${CHUNK} tickets, same HTML | repetitions | median per ticket | p95 per ticket | tickets/s | vs single renders, 1 page | PDF per ticket (mean) |`,
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const row of chunkRows) {
    const rate = row.tickets / (row.wallMs / 1000);
    const median = quantile(row.msPerTicket, 0.5);
    const p95 = quantile(row.msPerTicket, 0.95);
    const ratio = row === single1 ? "baseline" : throughputRatio(rate, chunkBaselineRate);
    console.log(
      `| ${row.name} | ${row.msPerTicket.length} × ${CHUNK} | ${ms(median)} ms | ${ms(p95)} ms | ${rate.toFixed(1)} | ${ratio} | ${kb(row.bytes / row.tickets)} |`,
    );
    figures.push({
      scenario: "render-chunk",
      name: row.name,
      unit: "ms",
      median,
      p95,
      samples: row.msPerTicket.length,
      baseline: { name: single1.name, median: chunkBaselineMedian },
      ratio: median / chunkBaselineMedian,
    });
  }
  console.log();
  console.log(
    `Per ticket = a repetition's wall time ÷ ${CHUNK} (renderer.pdfs: the whole call, combining, printing and splitting); p95 over ${REPS} repetitions, interleaved. ` +
      `One document vs single renders on 2 pages in parallel: ${throughputRatio(one.tickets / one.wallMs, single2.tickets / single2.wallMs)}. ` +
      `The chunk's whole document is ${kb(one.documentBytes! / REPS)} (${kb(one.documentBytes! / REPS / CHUNK)} a ticket); each split PDF carries the document's font subsets, which cover every ticket's glyphs.`,
  );

  console.log();
  console.log("Where Chromium's time goes (worker's pooled page, median of runs):");
  console.log();
  console.log("| tickets in one document | setContent (load) | page.pdf | split (pdf-lib) | total | per ticket |");
  console.log("|---:|---:|---:|---:|---:|---:|");
  for (const p of parts) {
    const total = p.setContentMs + p.printMs + p.splitMs;
    console.log(
      `| ${p.tickets} | ${ms(p.setContentMs)} ms | ${ms(p.printMs)} ms | ${p.tickets > 1 ? `${ms(p.splitMs)} ms` : "—"} | ${ms(total)} ms | ${ms(total / p.tickets)} ms |`,
    );
  }
  const first = parts[0]!;
  const last = parts.at(-1)!;
  const marginalPrint = (last.printMs - first.printMs) / (last.tickets - first.tickets);
  const marginalContent = (last.setContentMs - first.setContentMs) / (last.tickets - first.tickets);
  console.log();
  console.log(
    `page.pdf ≈ ${ms(first.printMs - marginalPrint)} ms fixed + ${ms(marginalPrint)} ms a page; setContent ≈ ${ms(first.setContentMs - marginalContent)} ms fixed + ${ms(marginalContent)} ms a ticket; ` +
      `split ≈ ${ms(last.splitMs / last.tickets)} ms a ticket (fitted on 1 and ${last.tickets} tickets).`,
  );
  console.log();
  console.log(
    `${pdfsChecked} PDFs checked to start with %PDF-; read back with pdftotext (guest's name) and pdfinfo (page count): ${samplesRead.length} samples (${samplesRead.join("; ")}). Total ${((performance.now() - started) / 1000).toFixed(1)} s.`,
  );
  emit(figures);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
