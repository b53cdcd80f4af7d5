import { Code, ConnectError } from "@connectrpc/connect";
import { batchChunkPriority, generateTicketCode } from "@ticketgen/shared";
import { CreateBatchRequestSchema, type CreateBatchRequest } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import type { BatchRow, NewTicketRow, TicketRow } from "../db/schema.ts";
import type { RenderDispatcher } from "../queue/render-dispatcher.ts";
import { idempotencyConflict, issueAborted, MAX_ISSUE_ATTEMPTS, requestHash, type TicketIssuer } from "../tickets/ticket-issuer.ts";
import { timeOrderedId } from "../db/time-ordered-id.ts";
import type { BatchInsert, BatchRepository } from "./batch-repository.ts";
import { isUniqueViolation } from "../db/pg-errors.ts";

/** Distinct codes for one batch: thousands share a millisecond, so collisions are checked here. */
function uniqueCodes(count: number, now: number): string[] {
  const codes = new Set<string>();
  while (codes.size < count) codes.add(generateTicketCode(now));
  return [...codes];
}

/** A chunk already dispatched once (lost since), and the chunks of its batch still unrendered. */
export interface ChunkResend {
  lost: ReadonlySet<number>;
  /** Ascending: a chunk's rank here is how much of its own batch is queued before it. */
  pending: readonly number[];
}

function tooManyInFlight(inFlight: number, maxInFlight: number): ConnectError {
  return new ConnectError(
    `this tenant already has ${inFlight} batches processing, and at most ${maxInFlight} may be in flight at once; ` +
      "wait for one to end (WatchBatch tells when) or cancel one (CancelBatch), then retry",
    Code.ResourceExhausted,
  );
}

/**
 * CreateBatch: every ticket of the guest list stored with its batch in one transaction, then
 * handed to the workers in chunks of `chunkSize` that render as one Chromium document each.
 * A tenant has at most `maxInFlight` batches processing.
 */
export class BatchIssuer {
  constructor(
    private readonly batches: BatchRepository,
    private readonly tickets: TicketIssuer,
    private readonly dispatcher: RenderDispatcher,
    private readonly options: { chunkSize: number; maxInFlight: number },
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
    for (let attempt = 1; attempt <= MAX_ISSUE_ATTEMPTS; attempt++) {
      const batchId = timeOrderedId();
      const codes = uniqueCodes(request.guests.length, now.getTime());
      const rows: NewTicketRow[] = request.guests.map((guest, position) =>
        this.tickets.ticketRow(context, guest, { ticketCode: codes[position]!, batchId, batchPosition: position }),
      );
      let stored: BatchInsert;
      try {
        stored = await this.batches.insert(
          {
            id: batchId,
            tenantId,
            eventId: context.event.id,
            totalCount: rows.length,
            chunkSize: this.options.chunkSize,
            idempotencyKey: key,
            requestHash: hash,
            createdAt: now,
          },
          rows,
          this.options.maxInFlight,
        );
      } catch (error) {
        // A code already issued to another ticket (one in billions): draw new ones.
        if (isUniqueViolation(error)) continue;
        throw error;
      }
      if (stored.outcome === "full") throw tooManyInFlight(stored.inFlight, this.options.maxInFlight);
      if (stored.outcome === "conflict") {
        const winner = key ? await this.batches.findByIdempotencyKey(tenantId, key) : undefined;
        if (winner) return this.replay(winner, hash);
        continue;
      }
      await this.dispatch(stored.batch, rows as TicketRow[]);
      return stored.batch;
    }
    throw issueAborted("batch");
  }

  /**
   * Sends the batch's tickets to the workers, one job per chunk, each at the priority its place
   * in its tenant's queued work gives it (see batchChunkPriority); the sweeper resends lost
   * chunks the same way, ranked among the chunks still unrendered.
   */
  async dispatch(batch: BatchRow, rows: readonly TicketRow[], resend?: ChunkResend): Promise<boolean> {
    const ahead = await this.batches.chunksAhead(batch);
    // A lost chunk is among the pending ones (the sweeper found it there).
    const rank = (index: number) => (resend ? resend.pending.indexOf(index) : index);
    const chunks: Array<{ index: number; rows: TicketRow[]; priority: number }> = [];
    for (const row of rows) {
      const index = Math.floor(row.batchPosition! / batch.chunkSize);
      if (resend && !resend.lost.has(index)) continue;
      if (chunks.at(-1)?.index !== index) chunks.push({ index, rows: [], priority: batchChunkPriority(ahead + rank(index)) });
      chunks.at(-1)!.rows.push(row);
    }
    return this.dispatcher.dispatchChunks(batch.id, chunks);
  }

  private replay(existing: BatchRow, hash: string): BatchRow {
    if (existing.requestHash !== hash) throw idempotencyConflict("batch", existing.id);
    return existing;
  }
}
