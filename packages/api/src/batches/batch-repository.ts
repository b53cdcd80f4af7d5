import { and, asc, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "../db/database.ts";
import { batches, tickets, type BatchRow, type NewBatchRow, type NewTicketRow, type TicketRow } from "../db/schema.ts";

// PostgreSQL takes at most 65,535 parameters a statement; a ticket row has about 25.
const INSERT_ROWS = 1000;

export const TERMINAL: ReadonlyArray<BatchRow["status"]> = ["COMPLETED", "FAILED", "CANCELLED"];

/** Batches and the ticket queries that work on a whole batch; every query is scoped by tenant. */
export class BatchRepository {
  constructor(private readonly db: Db) {}

  /** The batch and all its tickets in one transaction: a batch is never half stored. */
  async insert(batch: NewBatchRow, rows: NewTicketRow[]): Promise<BatchRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [inserted] = await tx.insert(batches).values(batch).onConflictDoNothing().returning();
      if (!inserted) return undefined;
      for (let i = 0; i < rows.length; i += INSERT_ROWS) await tx.insert(tickets).values(rows.slice(i, i + INSERT_ROWS));
      return inserted;
    });
  }

  async find(tenantId: string, id: string): Promise<BatchRow | undefined> {
    const [row] = await this.db.select().from(batches).where(and(eq(batches.id, id), eq(batches.tenantId, tenantId)));
    return row;
  }

  async findByIdempotencyKey(tenantId: string, key: string): Promise<BatchRow | undefined> {
    const [row] = await this.db.select().from(batches).where(and(eq(batches.tenantId, tenantId), eq(batches.idempotencyKey, key)));
    return row;
  }

  /** Tickets of a batch in guest-list order, positions [from, to). */
  ticketsAt(batch: Pick<BatchRow, "tenantId" | "id">, from: number, to: number): Promise<TicketRow[]> {
    return this.db
      .select()
      .from(tickets)
      .where(and(eq(tickets.tenantId, batch.tenantId), eq(tickets.batchId, batch.id), sql`${tickets.batchPosition} >= ${from}`, sql`${tickets.batchPosition} < ${to}`))
      .orderBy(asc(tickets.batchPosition));
  }

  /** Adds applied outcomes to the counts; the batch ends when every ticket has one. */
  async count(tenantId: string, id: string, generated: number, failed: number, now: Date): Promise<{ batch: BatchRow | undefined; ended: boolean }> {
    const done = sql`${batches.completedCount} + ${generated} + ${batches.failedCount} + ${failed} >= ${batches.totalCount}`;
    const [batch] = await this.db
      .update(batches)
      .set({
        completedCount: sql`${batches.completedCount} + ${generated}`,
        failedCount: sql`${batches.failedCount} + ${failed}`,
        status: sql`case when ${done} then (case when ${batches.completedCount} + ${generated} = 0 then 'FAILED' else 'COMPLETED' end)::batch_status else ${batches.status} end`,
        completedAt: sql`case when ${done} then ${now.toISOString()}::timestamptz else null end`,
      })
      .where(and(eq(batches.id, id), eq(batches.tenantId, tenantId), eq(batches.status, "PROCESSING")))
      .returning();
    return { batch, ended: batch !== undefined && batch.status !== "PROCESSING" };
  }

  /**
   * Locks the batch row until the transaction ends. Whatever changes a batch's tickets and its
   * row takes the row first, as CancelBatch's UPDATE does: one lock order, so a cancel racing a
   * chunk's results waits for it instead of deadlocking with it.
   */
  async lock(tenantId: string, id: string): Promise<void> {
    await this.db
      .select({ id: batches.id })
      .from(batches)
      .where(and(eq(batches.id, id), eq(batches.tenantId, tenantId)))
      .for("update");
  }

  /** CancelBatch: the batch ends CANCELLED and its unrendered tickets are revoked. */
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
        .where(and(eq(tickets.batchId, id), eq(tickets.tenantId, tenantId), eq(tickets.status, "PENDING")));
      return batch;
    });
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
      .where(and(eq(tickets.tenantId, batch.tenantId), eq(tickets.batchId, batch.id), eq(tickets.status, "PENDING")));
    return rows.map((r) => Number(r.chunk)).sort((a, b) => a - b);
  }
}
