import { v7 as uuidv7 } from "uuid";
import { generateTicketCode } from "@ticketgen/shared";
import { CreateBatchRequestSchema, type CreateBatchRequest } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import type { BatchRow, NewTicketRow, TicketRow } from "../db/schema.ts";
import type { RenderDispatcher } from "../tickets/render-dispatcher.ts";
import { idempotencyConflict, requestHash, type TicketIssuer } from "../tickets/ticket-issuer.ts";
import type { BatchRepository } from "./batch-repository.ts";
import { isUniqueViolation } from "../db/pg-errors.ts";

const MAX_ATTEMPTS = 3;

/** Distinct codes for one batch: thousands share a millisecond, so collisions are checked here. */
function uniqueCodes(count: number, now: number): string[] {
  const codes = new Set<string>();
  while (codes.size < count) codes.add(generateTicketCode(now));
  return [...codes];
}

/**
 * CreateBatch: every ticket of the guest list stored with its batch in one transaction, then
 * handed to the workers in chunks of `chunkSize` that render as one Chromium document each.
 */
export class BatchIssuer {
  constructor(
    private readonly batches: BatchRepository,
    private readonly tickets: TicketIssuer,
    private readonly dispatcher: RenderDispatcher,
    private readonly chunkSize: number,
  ) {}

  async issue(tenantId: string, request: CreateBatchRequest, now: Date = new Date()): Promise<BatchRow> {
    const hash = requestHash(CreateBatchRequestSchema, request);
    const key = request.idempotencyKey || null;
    if (key) {
      const existing = await this.batches.findByIdempotencyKey(tenantId, key);
      if (existing) return this.replay(existing, hash);
    }
    const context = {
      tenantId,
      event: request.event!,
      ticketType: request.ticketType!,
      templateId: request.templateId,
      templateVersion: await this.tickets.templateVersion(tenantId, request.templateId),
      locale: request.locale,
      now,
    };
    for (let attempt = 1; ; attempt++) {
      const batchId = uuidv7({ msecs: now.getTime() });
      const codes = uniqueCodes(request.guests.length, now.getTime());
      const rows: NewTicketRow[] = request.guests.map((guest, position) => ({
        ...this.tickets.ticketRow(context, guest, codes[position]),
        batchId,
        batchPosition: position,
      }));
      let batch: BatchRow | undefined;
      try {
        batch = await this.batches.insert(
          {
            id: batchId,
            tenantId,
            eventId: context.event.id,
            totalCount: rows.length,
            chunkSize: this.chunkSize,
            idempotencyKey: key,
            requestHash: hash,
            createdAt: now,
          },
          rows,
        );
      } catch (error) {
        // A code already issued to another ticket (one in billions): draw new ones.
        if (isUniqueViolation(error) && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
      if (!batch) {
        const winner = key ? await this.batches.findByIdempotencyKey(tenantId, key) : undefined;
        if (winner) return this.replay(winner, hash);
        continue;
      }
      await this.dispatch(batch, rows as TicketRow[]);
      return batch;
    }
  }

  /** Sends the batch's tickets to the workers, one job per chunk (also used by the sweeper). */
  dispatch(batch: BatchRow, rows: readonly TicketRow[], onlyChunks?: ReadonlySet<number>): Promise<boolean> {
    const chunks: Array<{ index: number; rows: TicketRow[] }> = [];
    for (const row of rows) {
      const index = Math.floor(row.batchPosition! / batch.chunkSize);
      if (onlyChunks && !onlyChunks.has(index)) continue;
      if (chunks.at(-1)?.index !== index) chunks.push({ index, rows: [] });
      chunks.at(-1)!.rows.push(row);
    }
    return this.dispatcher.dispatchChunks(batch.id, chunks);
  }

  private replay(existing: BatchRow, hash: string): BatchRow {
    if (existing.requestHash !== hash) throw idempotencyConflict("batch", existing.id);
    return existing;
  }
}
