import { concatPdfs, splitPdfPages, withDocumentInfo, type RenderTicketJob } from "@ticketgen/shared";
import type { AssetStore } from "../assets/asset-store.ts";
import { renderTimeoutFor, type BrowserPool } from "../browser/browser-pool.ts";
import { qrSvg } from "../qr/qr-svg.ts";
import {
  isTemplateError,
  TemplateLimitError,
  ticketView,
  type TemplateOutcome,
  type TemplateRegistry,
  type TemplateSandbox,
  type TemplateSource,
  type TemplateView,
} from "../templates/index.ts";
import { combineDocuments } from "./combine-documents.ts";
import { ticketDocumentInfo, type TicketDocumentJob } from "./document-info.ts";
import { pdfPageCount } from "./page-count.ts";

/**
 * A4 with 20 mm margins, backgrounds printed: what the built-in templates are designed for.
 * Tagged: Chromium writes the structure tree (reading order, headings, lists, the QR code's
 * alt text from its aria-label) and the catalog's /Lang from `<html lang>`.
 */
const PDF_OPTIONS = {
  format: "A4",
  printBackground: true,
  tagged: true,
  margin: { top: "20mm", right: "20mm", bottom: "20mm", left: "20mm" },
} as const;

export interface TicketRendererOptions {
  qr: { size: number; margin: number };
  /** Chromium's part of a render (load + print) may take this long (RENDER_TIMEOUT_MS). */
  timeoutMs: number;
  /** A ticket printing to more pages fails (MAX_PAGES_PER_TICKET). */
  maxPagesPerTicket: number;
  /** Tenants' assets for `{{asset}}`; without it, templates see none. */
  assets?: AssetStore;
}

/** A ticket's PDF, or the limit that failed it alone. */
export type TicketPdf = Uint8Array | TemplateLimitError;

/** Job → template (on a template thread) + QR → HTML → PDF, on a pooled Chromium page. */
export class TicketRenderer {
  constructor(
    private readonly pool: BrowserPool,
    private readonly templates: TemplateRegistry,
    private readonly sandbox: TemplateSandbox,
    private readonly options: TicketRendererOptions,
  ) {}

  /** One ticket's HTML; a template error (not found, compile, render, limit) is thrown. */
  async html(job: RenderTicketJob, inlineContent?: string): Promise<string> {
    const [outcome] = await this.htmls([job], inlineContent);
    if (typeof outcome !== "string") throw outcome;
    return outcome;
  }

  /**
   * Each ticket's HTML, or the template error that fails it alone; tickets sharing a tenant and
   * a template (a batch chunk's) run as one task on a template thread, with the tenant's assets
   * read once for the task. Other errors are thrown.
   */
  async htmls(jobs: readonly RenderTicketJob[], inlineContent?: string): Promise<TemplateOutcome[]> {
    const outcomes: TemplateOutcome[] = new Array(jobs.length);
    const groups = new Map<string, { tenantId: string; template: TemplateSource; indexes: number[]; views: TemplateView[] }>();
    const now = new Date();
    for (const [i, job] of jobs.entries()) {
      let template: TemplateSource;
      try {
        template = inlineContent !== undefined ? this.templates.inline(inlineContent) : await this.templates.resolve(job);
      } catch (error) {
        if (!isTemplateError(error)) throw error;
        outcomes[i] = error;
        continue;
      }
      const qr = await qrSvg(job.qrPayload, { ...this.options.qr, label: `Ticket QR code, ${job.ticketCode}` });
      const view = ticketView(job, qr, now);
      const key = JSON.stringify([job.tenantId, template.key]);
      const group = groups.get(key) ?? { tenantId: job.tenantId, template, indexes: [], views: [] };
      groups.set(key, group);
      group.indexes.push(i);
      group.views.push(view);
    }
    for (const { tenantId, template, indexes, views } of groups.values()) {
      const assets = await this.options.assets?.forTemplate(tenantId, template.assetNames ?? []);
      const rendered = await this.sandbox.render(template, views, assets);
      for (const [k, i] of indexes.entries()) outcomes[i] = rendered[k]!;
    }
    return outcomes;
  }

  /**
   * Many tickets as one Chromium print, split into one PDF per ticket (plus the whole document,
   * for the batch PDF). A template that makes a ticket longer than a page breaks the one-page-
   * per-ticket split: then each ticket is printed on its own, slower but still right, and one
   * over MAX_PAGES_PER_TICKET fails alone. `document` is undefined when no ticket printed.
   * Each ticket's PDF keeps its share of the document's structure tree and gets its own
   * metadata (`jobs[i]` is the ticket of `htmls[i]`).
   */
  async pdfs(
    htmls: readonly string[],
    jobs: readonly TicketDocumentJob[],
  ): Promise<{ document: Uint8Array | undefined; tickets: TicketPdf[] }> {
    // One page more than the split needs tells that it cannot work, without printing the rest.
    const document = await this.print(combineDocuments(htmls), htmls.length, htmls.length + 1);
    const now = new Date();
    const pages = await splitPdfPages(document, { info: (i) => (jobs[i] ? ticketDocumentInfo(jobs[i], now) : undefined) });
    if (pages.length === htmls.length) return { document, tickets: pages };
    const tickets: TicketPdf[] = [];
    for (const [i, html] of htmls.entries()) {
      try {
        tickets.push(await this.pdf(html, jobs[i]!));
      } catch (error) {
        if (!(error instanceof TemplateLimitError)) throw error;
        tickets.push(error);
      }
    }
    const printed = tickets.filter((ticket): ticket is Uint8Array => ticket instanceof Uint8Array);
    return { document: printed.length > 0 ? await collect(concatPdfs(toAsync(printed))) : undefined, tickets };
  }

  /** One ticket's PDF, with the metadata of `job`; TemplateLimitError past MAX_PAGES_PER_TICKET pages. */
  async pdf(html: string, job: TicketDocumentJob): Promise<Buffer> {
    const { maxPagesPerTicket } = this.options;
    const pdf = await this.print(html, 1, maxPagesPerTicket + 1);
    if (pdfPageCount(pdf) > maxPagesPerTicket) {
      throw new TemplateLimitError(`template printed more than ${maxPagesPerTicket} pages for one ticket (MAX_PAGES_PER_TICKET)`);
    }
    return Buffer.from(await withDocumentInfo(pdf, ticketDocumentInfo(job, new Date())));
  }

  /** Prints at most `maxPages` pages: Chromium stops there, however long the document. */
  private print(html: string, tickets: number, maxPages: number): Promise<Buffer> {
    return this.pool.withPage(async (page) => {
      // Everything is inline, so "load" is reached without any network; never networkidle.
      await page.setContent(html, { waitUntil: "load", timeout: renderTimeoutFor(this.options.timeoutMs, tickets) });
      return page.pdf({ ...PDF_OPTIONS, pageRanges: `1-${maxPages}` });
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
