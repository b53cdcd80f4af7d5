import { and, asc, eq, isNull, lt, sql } from "drizzle-orm";
import type { RenderResult } from "@ticketgen/shared";
import type { Db } from "../db/database.ts";
import { batches, tickets, type BatchRow, type NewBatchRow, type NewTicketRow, type TicketRow } from "../db/schema.ts";
import { tenantFilter } from "../db/tenant-filter.ts";
import { pdfDeleted, TicketRepository } from "../tickets/ticket-repository.ts";

// PostgreSQL takes at most 65,535 parameters a statement; a ticket row has about 25.
const INSERT_ROWS = 1000;

export const TERMINAL: ReadonlyArray<BatchRow["status"]> = ["COMPLETED", "FAILED", "CANCELLED"];

// First key of the per-tenant advisory lock taken to admit a batch (the second is the tenant's
// hash); the two-key form never meets the migrations' one-key lock.
const BATCH_ADMISSION_LOCK = 0x54474241;

/** What storing a batch came to: stored, lost to an equal id or idempotency key, or refused at the cap. */
export type BatchInsert = { outcome: "inserted"; batch: BatchRow } | { outcome: "conflict" } | { outcome: "full"; inFlight: number };

/** What applying a chunk's outcomes did: the tickets it changed, the batch, whether it ended the batch. */
export interface ChunkApplied {
  changed: TicketRow[];
  batch: BatchRow | undefined;
  ended: boolean;
}

/** Batches and the ticket queries that work on a whole batch; every query is scoped by tenant. */
export class BatchRepository {
  constructor(private readonly db: Db) {}

  /**
   * The batch and all its tickets in one transaction (a batch is never half stored), unless the
   * tenant already has `maxInFlight` batches processing. The check and the insert happen under
   * a per-tenant lock, so concurrent calls cannot all slip under the cap; a request whose
   * idempotency key is already stored is a conflict (a replay), never refused.
   */
  async insert(batch: NewBatchRow, rows: NewTicketRow[], maxInFlight: number): Promise<BatchInsert> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${BATCH_ADMISSION_LOCK}::int, hashtext(${batch.tenantId}))`);
      if (batch.idempotencyKey) {
        const [existing] = await tx
          .select({ id: batches.id })
          .from(batches)
          .where(and(eq(batches.tenantId, batch.tenantId), eq(batches.idempotencyKey, batch.idempotencyKey)));
        if (existing) return { outcome: "conflict" };
      }
      const [processing] = await tx
        .select({ count: sql<number>`count(*)::int` })
        .from(batches)
        .where(and(eq(batches.tenantId, batch.tenantId), eq(batches.status, "PROCESSING")));
      const inFlight = processing?.count ?? 0;
      if (inFlight >= maxInFlight) return { outcome: "full", inFlight };
      const [inserted] = await tx.insert(batches).values(batch).onConflictDoNothing().returning();
      if (!inserted) return { outcome: "conflict" };
      for (let i = 0; i < rows.length; i += INSERT_ROWS) await tx.insert(tickets).values(rows.slice(i, i + INSERT_ROWS));
      return { outcome: "inserted", batch: inserted };
    });
  }

  /**
   * Chunks of the tenant's batches created before this one that are not rendered yet. A chunk's
   * results are applied at once, so the tickets left without an outcome fill whole chunks (and
   * the short last one): the count is exact.
   */
  async chunksAhead(batch: Pick<BatchRow, "tenantId" | "id">): Promise<number> {
    const [row] = await this.db
      .select({
        chunks: sql<number>`coalesce(sum(ceil((${batches.totalCount} - ${batches.completedCount} - ${batches.failedCount})::numeric / ${batches.chunkSize})), 0)::int`,
      })
      .from(batches)
      .where(and(eq(batches.tenantId, batch.tenantId), eq(batches.status, "PROCESSING"), lt(batches.id, batch.id)));
    return row?.chunks ?? 0;
  }

  async find(tenantId: string, id: string): Promise<BatchRow | undefined> {
    const [row] = await this.db
      .select()
      .from(batches)
      .where(and(eq(batches.id, id), eq(batches.tenantId, tenantId)));
    return row;
  }

  async findByIdempotencyKey(tenantId: string, key: string): Promise<BatchRow | undefined> {
    const [row] = await this.db
      .select()
      .from(batches)
      .where(and(eq(batches.tenantId, tenantId), eq(batches.idempotencyKey, key)));
    return row;
  }

  /** Whether retention deleted the batch's PDFs: they go with its tickets', all of which expire together. */
  async pdfsDeleted(batch: Pick<BatchRow, "tenantId" | "id">): Promise<boolean> {
    const [row] = await this.db
      .select({ id: tickets.id })
      .from(tickets)
      .where(and(tenantFilter(tickets.tenantId, batch.tenantId), eq(tickets.batchId, batch.id), pdfDeleted))
      .limit(1);
    return row !== undefined;
  }

  /** Tickets of a batch in guest-list order, positions [from, to). */
  ticketsAt(batch: Pick<BatchRow, "tenantId" | "id">, from: number, to: number): Promise<TicketRow[]> {
    return this.db
      .select()
      .from(tickets)
      .where(
        and(
          tenantFilter(tickets.tenantId, batch.tenantId),
          eq(tickets.batchId, batch.id),
          sql`${tickets.batchPosition} >= ${from}`,
          sql`${tickets.batchPosition} < ${to}`,
        ),
      )
      .orderBy(asc(tickets.batchPosition));
  }

  /**
   * Sets the batch's counts from its tickets' statuses, so they never disagree with them: a
   * late success on a ticket the sweeper failed moves it from failed to generated instead of
   * counting it twice. A ticket revoked after its outcome keeps counting as that outcome (its
   * PDF details or failure reason stay). A processing batch ends once none of its tickets is
   * PENDING. Call it in the transaction that changed the tickets (it takes the batch row).
   */
  async recount(tenantId: string, id: string, now: Date): Promise<{ batch: BatchRow | undefined; ended: boolean }> {
    const status = await this.lock(tenantId, id);
    const generated = sql`${tickets.status} = 'GENERATED' or (${tickets.status} = 'REVOKED' and ${tickets.pdfKey} is not null)`;
    const failed = sql`${tickets.status} = 'FAILED' or (${tickets.status} = 'REVOKED' and ${tickets.pdfKey} is null and ${tickets.failureReason} is not null)`;
    const [counts] = await this.db
      .select({
        generated: sql<number>`(count(*) filter (where ${generated}))::int`,
        failed: sql<number>`(count(*) filter (where ${failed}))::int`,
        pending: sql<number>`(count(*) filter (where ${tickets.status} = 'PENDING'))::int`,
      })
      .from(tickets)
      .where(and(tenantFilter(tickets.tenantId, tenantId), eq(tickets.batchId, id)));
    const { generated: completedCount, failed: failedCount, pending } = counts ?? { generated: 0, failed: 0, pending: 0 };
    const ends = status === "PROCESSING" && pending === 0;
    const [batch] = await this.db
      .update(batches)
      .set({
        completedCount,
        failedCount,
        ...(ends && { status: completedCount === 0 ? "FAILED" : "COMPLETED", completedAt: now }),
      })
      .where(and(eq(batches.id, id), eq(batches.tenantId, tenantId)))
      .returning();
    return { batch, ended: ends && batch !== undefined };
  }

  /**
   * Locks the batch row until the transaction ends. Whatever changes a batch's tickets and its
   * row takes the row first, as CancelBatch's UPDATE does: one lock order, so a cancel racing a
   * chunk's results waits for it instead of deadlocking with it. Returns the batch's status.
   */
  async lock(tenantId: string, id: string): Promise<BatchRow["status"] | undefined> {
    const [row] = await this.db
      .select({ status: batches.status })
      .from(batches)
      .where(and(eq(batches.id, id), eq(batches.tenantId, tenantId)))
      .for("update");
    return row?.status;
  }

  /**
   * A chunk's outcomes, the batch counts and what they cause (`effects`: the batch's webhook
   * event written to the outbox when it ended), in one transaction that locks the batch row
   * first. Returns the tickets whose outcome changed, the batch, whether this call ended it, and
   * what `effects` returned.
   */
  async applyChunkResults<T>(
    tenantId: string,
    id: string,
    results: readonly RenderResult[],
    now: Date,
    effects: (tx: Db, applied: ChunkApplied) => Promise<T>,
  ): Promise<ChunkApplied & { effects: T }> {
    return this.db.transaction(async (tx) => {
      const batches = new BatchRepository(tx);
      await batches.lock(tenantId, id);
      const changed = await new TicketRepository(tx).applyResults(tenantId, results);
      const applied = { changed, ...(await batches.recount(tenantId, id, now)) };
      return { ...applied, effects: await effects(tx, applied) };
    });
  }

  /**
   * CancelBatch: the batch ends CANCELLED and its unrendered tickets are revoked. Its
   * cancel_propagated_at stays null until its workers are told (CancelRelay).
   */
  async cancel(tenantId: string, id: string, now: Date): Promise<BatchRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [batch] = await tx
        .update(batches)
        .set({ status: "CANCELLED", completedAt: now })
        .where(and(eq(batches.id, id), eq(batches.tenantId, tenantId), eq(batches.status, "PROCESSING")))
        .returning();
      if (!batch) return undefined;
      await tx
        .update(tickets)
        .set({ status: "REVOKED", revokedAt: now, revocationReason: "batch cancelled before this ticket was rendered" })
        .where(and(eq(tickets.batchId, id), tenantFilter(tickets.tenantId, tenantId), eq(tickets.status, "PENDING")));
      return batch;
    });
  }

  /** CANCELLED batches whose workers were not told yet, longest waiting first, for the cancel relay. */
  findUnpropagatedCancels(limit: number): Promise<BatchRow[]> {
    return this.db
      .select()
      .from(batches)
      .where(and(eq(batches.status, "CANCELLED"), isNull(batches.cancelPropagatedAt)))
      .orderBy(asc(batches.completedAt))
      .limit(limit);
  }

  /** The workers of a cancelled batch were told: the relay leaves it alone from now on. */
  async markCancelPropagated(tenantId: string, id: string, now: Date): Promise<void> {
    await this.db
      .update(batches)
      .set({ cancelPropagatedAt: now })
      .where(and(eq(batches.id, id), eq(batches.tenantId, tenantId), isNull(batches.cancelPropagatedAt)));
  }

  /** PROCESSING batches created before `olderThan`, for the sweeper. */
  findProcessing(olderThan: Date, limit: number): Promise<BatchRow[]> {
    return this.db
      .select()
      .from(batches)
      .where(and(eq(batches.status, "PROCESSING"), lt(batches.createdAt, olderThan)))
      .orderBy(asc(batches.createdAt))
      .limit(limit);
  }

  /** Chunk indexes of a batch that still have PENDING tickets. */
  async pendingChunks(batch: Pick<BatchRow, "tenantId" | "id" | "chunkSize">): Promise<number[]> {
    const rows = await this.db
      .selectDistinct({ chunk: sql<number>`(${tickets.batchPosition} / ${batch.chunkSize})::int` })
      .from(tickets)
      .where(and(tenantFilter(tickets.tenantId, batch.tenantId), eq(tickets.batchId, batch.id), eq(tickets.status, "PENDING")));
    return rows.map((r) => Number(r.chunk)).sort((a, b) => a - b);
  }
}
