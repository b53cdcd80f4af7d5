import { and, eq, inArray, isNotNull, lt, sql } from "drizzle-orm";
import type { Db } from "../db/database.ts";
import { batches, tickets } from "../db/schema.ts";
import { pdfDeleted } from "../tickets/ticket-repository.ts";

export interface ReleasedPdf {
  tenantId: string;
  pdfKey: string;
  batchId: string | null;
}

/** A PDF stored for a ticket, as a render reported it. */
export interface TicketPdf {
  tenantId: string;
  ticketId: string;
  key: string;
}

/**
 * What the blob reaper and the result recorder ask the database: which PDFs are past retention,
 * which blobs rows still name.
 */
export class BlobReferences {
  constructor(private readonly db: Db) {}

  /**
   * Forgets the PDFs of up to `limit` tickets that expired before `cutoff` and returns their keys,
   * for the caller to delete. Rows another replica is releasing are skipped, not waited for.
   */
  async releaseExpired(cutoff: Date, limit: number): Promise<ReleasedPdf[]> {
    // The keys come from the CTE: RETURNING shows the rows as updated, without their key.
    const due = this.db.$with("due").as(
      this.db
        .select({ id: tickets.id, pdfKey: sql<string>`${tickets.pdfKey}`.as("due_pdf_key") })
        .from(tickets)
        .where(and(isNotNull(tickets.pdfKey), lt(tickets.validUntil, cutoff)))
        .limit(limit)
        .for("update", { skipLocked: true }),
    );
    return this.db
      .with(due)
      .update(tickets)
      .set({ pdfKey: null })
      .from(due)
      .where(eq(tickets.id, due.id))
      .returning({ tenantId: tickets.tenantId, pdfKey: due.pdfKey, batchId: tickets.batchId });
  }

  /** Of these ticket PDF keys, the ones a ticket row still names. */
  async ticketKeysInUse(candidates: ReadonlyArray<{ ticketId: string; key: string }>): Promise<Set<string>> {
    if (candidates.length === 0) return new Set();
    const rows = await this.db
      .select({ pdfKey: tickets.pdfKey })
      .from(tickets)
      .where(and(inArray(tickets.id, [...new Set(candidates.map((c) => c.ticketId))]), isNotNull(tickets.pdfKey)));
    return new Set(rows.map((row) => row.pdfKey!));
  }

  /**
   * Of these PDFs, the ones no ticket can ever name: their ticket's PDF is recorded under
   * another key, or was deleted after retention. Once generated_at is set, pdf_key never takes
   * a new value (applyResults), so these stay unnamed; a ticket without a recorded PDF yet may
   * still take any of its renders', and keeps them all.
   */
  async supersededTicketPdfs(candidates: readonly TicketPdf[]): Promise<TicketPdf[]> {
    if (candidates.length === 0) return [];
    const rows = await this.db
      .select({ id: tickets.id, tenantId: tickets.tenantId, pdfKey: tickets.pdfKey })
      .from(tickets)
      .where(and(inArray(tickets.id, [...new Set(candidates.map((c) => c.ticketId))]), isNotNull(tickets.generatedAt)));
    const settled = new Map(rows.map((row) => [row.id, row]));
    return candidates.filter((pdf) => {
      const row = settled.get(pdf.ticketId);
      return row !== undefined && row.tenantId === pdf.tenantId && row.pdfKey !== pdf.key;
    });
  }

  /** Of these batches, "tenant/id" of those whose PDFs are kept: the batch exists and retention has not deleted them. */
  async batchesWithPdfs(candidates: ReadonlyArray<{ tenantId: string; batchId: string }>): Promise<Set<string>> {
    if (candidates.length === 0) return new Set();
    const rows = await this.db
      .select({ tenantId: batches.tenantId, id: batches.id })
      .from(batches)
      .where(
        and(
          inArray(batches.id, [...new Set(candidates.map((c) => c.batchId))]),
          sql`not exists (select 1 from ${tickets} where ${tickets.batchId} = ${batches.id} and ${pdfDeleted})`,
        ),
      );
    return new Set(rows.map((row) => `${row.tenantId}/${row.id}`));
  }

  /** Batches (with their chunk layout) whose tickets lost their PDFs to retention. */
  findBatches(ids: readonly string[]): Promise<Array<{ tenantId: string; id: string; totalCount: number; chunkSize: number }>> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db
      .select({ tenantId: batches.tenantId, id: batches.id, totalCount: batches.totalCount, chunkSize: batches.chunkSize })
      .from(batches)
      .where(inArray(batches.id, [...new Set(ids)]));
  }
}
