import { setTimeout } from "node:timers/promises";
import { firstLine, ticketPdfPrefix, type BlobStore, type Logger } from "@ticketgen/shared";

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

/** The worker's writes to the blob store: drawn PDFs stored patiently, and whether the store takes them. */
export class PdfWriter {
  private refusal: { since: Date; reason: string } | undefined;

  constructor(
    private readonly blobs: BlobStore,
    private readonly logger: Logger,
  ) {}

  /**
   * Stores a drawn PDF, waiting out a blob store that refuses it. A storage outage is not the
   * ticket's fault: failing the job would spend its render attempts in seconds and fail the
   * ticket for good. The job keeps its slot (and BullMQ renews its lock) while it waits, so the
   * worker takes no new work meanwhile; a worker stopped while waiting hands the job back.
   */
  async put(key: string, data: Uint8Array): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.blobs.put(key, data, "application/pdf");
        this.refusal = undefined;
        if (attempt > 1) this.logger.info({ action: "blob_store_back", key, attempts: attempt }, "the blob store took the PDF");
        return;
      } catch (error) {
        this.refusal = { since: this.refusal?.since ?? new Date(), reason: firstLine(error) };
        const delayMs = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (attempt - 1));
        this.logger.warn({ action: "blob_store_refused", key, attempt, delayMs, err: error }, "the blob store refused a PDF; retrying");
        await setTimeout(delayMs);
      }
    }
  }

  /**
   * Why PDFs cannot be stored, from the last write's failure until a write succeeds; undefined
   * while the last write went through.
   */
  get refusing(): string | undefined {
    return this.refusal && `refuses writes since ${this.refusal.since.toISOString()}: ${this.refusal.reason}`;
  }

  /**
   * The PDFs stored for a ticket so far: on a retried render, what earlier attempts left. Only
   * a hint for the API's clean-up (the blob reaper is the backstop), so a listing that fails
   * finds nothing rather than failing the render.
   */
  async storedFor(tenantId: string, ticketId: string): Promise<string[]> {
    const keys: string[] = [];
    try {
      for await (const blob of this.blobs.list(ticketPdfPrefix(tenantId, ticketId))) keys.push(blob.key);
    } catch (error) {
      this.logger.warn({ action: "blob_list_failed", ticketId, err: error }, "could not list the PDFs earlier renders stored");
    }
    return keys;
  }
}
