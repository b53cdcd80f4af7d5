import { concatPdfs, splitPdfPages, type RenderTicketJob } from "@ticketgen/shared";
import type { BrowserPool } from "../browser/browser-pool.ts";
import { qrSvg } from "../qr/qr-svg.ts";
import { renderTicketHtml, ticketView, type TemplateRegistry } from "../templates/index.ts";
import { combineDocuments } from "./combine-documents.ts";

/** A4 with 20 mm margins, backgrounds printed: what the built-in templates are designed for. */
const PDF_OPTIONS = {
  format: "A4",
  printBackground: true,
  margin: { top: "20mm", right: "20mm", bottom: "20mm", left: "20mm" },
} as const;

/** The source of the template a job names: a stored version, or inline content (previews). */
export interface TemplateChoice {
  content?: string;
}

/** Job → template + QR → HTML → PDF, on a pooled Chromium page. */
export class TicketRenderer {
  constructor(
    private readonly pool: BrowserPool,
    private readonly templates: TemplateRegistry,
    private readonly qr: { size: number; margin: number },
    private readonly timeoutMs: number,
  ) {}

  async html(job: RenderTicketJob, inlineContent?: string): Promise<string> {
    const template = inlineContent !== undefined ? this.templates.compileInline(inlineContent) : await this.templates.resolve(job);
    const svg = await qrSvg(job.qrPayload, this.qr);
    return renderTicketHtml(template, ticketView(job, svg, new Date()));
  }

  /**
   * Many tickets as one Chromium print, split into one PDF per ticket (plus the whole document,
   * for the batch PDF). A template that makes a ticket longer than a page breaks the one-page-
   * per-ticket split: then each ticket is printed on its own, slower but still right.
   */
  async pdfs(htmls: readonly string[]): Promise<{ document: Uint8Array; tickets: Uint8Array[] }> {
    const document = await this.pdf(combineDocuments(htmls), htmls.length);
    const pages = await splitPdfPages(document);
    if (pages.length === htmls.length) return { document, tickets: pages };
    const tickets: Uint8Array[] = [];
    for (const html of htmls) tickets.push(await this.pdf(html));
    return { document: await collect(concatPdfs(toAsync(tickets))), tickets };
  }

  async pdf(html: string, tickets = 1): Promise<Buffer> {
    return this.pool.withPage(async (page) => {
      // Everything is inline, so "load" is reached without any network; never networkidle.
      await page.setContent(html, { waitUntil: "load", timeout: this.timeoutMs });
      return page.pdf(PDF_OPTIONS);
    }, tickets);
  }
}

async function* toAsync<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

async function collect(parts: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const part of parts) chunks.push(part);
  return Buffer.concat(chunks);
}
