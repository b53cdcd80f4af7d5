import { ticketPdfPrefix, type BlobStore, type Logger, type RenderResult } from "@ticketgen/shared";
import type { TicketRow } from "../db/schema.ts";
import type { BlobReferences, TicketPdf } from "../reconciliation/blob-references.ts";

/**
 * Deletes the PDFs of renders that lost. A ticket rendered twice (its first outcome was late,
 * or never came: a worker killed or cut off from Redis after storing its PDF) has two PDFs under
 * different content-addressed keys, and the first success applied is the one its row keeps.
 * After outcomes are applied, every PDF they name (their own, and those earlier attempts left)
 * that its ticket's row does not name, once that row's PDF is recorded, is deleted here rather
 * than a day later by the blob reaper. Deleting is idempotent, so a redelivered outcome or two
 * replicas applying duplicates are harmless, and the row's own PDF is never a candidate.
 */
export class SupersededPdfs {
  constructor(
    private readonly references: BlobReferences,
    private readonly blobs: BlobStore,
    private readonly logger: Logger,
  ) {}

  /** `applied`: the rows these outcomes changed, whose own PDFs are known to be kept. */
  async discard(results: readonly RenderResult[], applied: readonly TicketRow[]): Promise<void> {
    const kept = new Set(applied.flatMap((row) => (row.pdfKey ? [row.pdfKey] : [])));
    const candidates = results.flatMap((result): TicketPdf[] => {
      if (result.outcome !== "generated") return [];
      const { tenantId, ticketId } = result;
      return [result.pdfKey, ...(result.earlierPdfKeys ?? [])]
        .filter((key) => namesOwnFile(key, tenantId, ticketId) && !kept.has(key))
        .map((key) => ({ tenantId, ticketId, key }));
    });
    if (candidates.length === 0) return;
    try {
      const superseded = await this.references.supersededTicketPdfs(candidates);
      await Promise.all(superseded.map((pdf) => this.blobs.delete(pdf.key)));
      if (superseded.length > 0)
        this.logger.info(
          { action: "superseded_pdfs_deleted", tickets: [...new Set(superseded.map((pdf) => pdf.ticketId))], count: superseded.length },
          "deleted the PDFs of renders whose outcome lost",
        );
    } catch (error) {
      // The outcome itself is applied; the blob reaper deletes what is left here.
      this.logger.warn({ action: "superseded_pdfs_kept", err: error }, "could not delete the PDFs of renders whose outcome lost");
    }
  }
}

/** Keys come from a job payload: only a file directly under the ticket's own prefix is ever deleted. */
function namesOwnFile(key: string, tenantId: string, ticketId: string): boolean {
  const prefix = ticketPdfPrefix(tenantId, ticketId);
  const file = key.slice(prefix.length);
  return key.startsWith(prefix) && file !== "" && !file.includes("/") && file !== "." && file !== "..";
}
