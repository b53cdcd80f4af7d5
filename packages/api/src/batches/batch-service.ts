import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { batchChunkPdfKey, type BlobStore, type ConcatPdfSource, type Logger } from "@ticketgen/shared";
import { BatchSchema, type BatchService, BatchStatus, type Batch } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import type { BatchRow } from "../db/schema.ts";
import type { ApiMetrics } from "../metrics/api-metrics.ts";
import type { CancelRelay } from "../reconciliation/cancel-relay.ts";
import type { TenantLogos } from "../print/card-logo.ts";
import { cardTicketOf } from "../print/card-ticket.ts";
import type { CardTicket } from "../print/cards.ts";
import { printPdf } from "../print/print-download.ts";
import { tenantOf } from "../pipeline/auth-interceptor.ts";
import type { BatchIssuer } from "./batch-issuer.ts";
import type { BatchProgress } from "./batch-progress.ts";
import { TERMINAL, type BatchRepository } from "./batch-repository.ts";
import { WakeSignal } from "./wake-signal.ts";

/** Ticket rows read at a time for badges and labels. */
const CARD_ROWS_PER_READ = 500;

const STATUS: Record<BatchRow["status"], BatchStatus> = {
  PROCESSING: BatchStatus.PROCESSING,
  COMPLETED: BatchStatus.COMPLETED,
  FAILED: BatchStatus.FAILED,
  CANCELLED: BatchStatus.CANCELLED,
};

export function batchToProto(row: BatchRow): Batch {
  return create(BatchSchema, {
    id: row.id,
    status: STATUS[row.status],
    totalCount: row.totalCount,
    completedCount: row.completedCount,
    failedCount: row.failedCount,
    createdAt: timestampFromDate(row.createdAt),
    completedAt: row.completedAt ? timestampFromDate(row.completedAt) : undefined,
    eventId: row.eventId,
  });
}

export interface BatchServiceDeps {
  repository: BatchRepository;
  issuer: BatchIssuer;
  progress: BatchProgress;
  cancelRelay: CancelRelay;
  blobs: BlobStore;
  metrics: ApiMetrics;
  drainSignal: AbortSignal;
  /** Watchers re-read on announcements; this timer only covers an announcement lost in transit. */
  watchPollIntervalMs: number;
  /** The logo badges and labels show. */
  logos: TenantLogos;
  logger: Logger;
}

export function batchService(deps: BatchServiceDeps): ServiceImpl<typeof BatchService> {
  const { repository, issuer, progress, cancelRelay, blobs, metrics, drainSignal, watchPollIntervalMs, logos, logger } = deps;

  async function find(context: HandlerContext, id: string): Promise<BatchRow> {
    const row = await repository.find(tenantOf(context), id);
    if (!row) throw new ConnectError(`batch ${id} not found`, Code.NotFound);
    return row;
  }

  /** The batch's tickets that admit (generated, not revoked), in guest-list order, a page of rows at a time. */
  async function* admittingTickets(batch: BatchRow): AsyncGenerator<CardTicket, void, undefined> {
    for (let from = 0; from < batch.totalCount; from += CARD_ROWS_PER_READ) {
      for (const row of await repository.ticketsAt(batch, from, from + CARD_ROWS_PER_READ)) {
        if (row.status === "GENERATED") yield cardTicketOf(row);
      }
    }
  }

  /**
   * The batch's rendered pages in guest-list order, one document fetched at a time (concatPdfs
   * gets each when it reaches it), so memory stays flat however large the batch. A chunk whose
   * tickets all failed has no document; one whose document is missing although tickets of it
   * were rendered gives those tickets' own PDFs instead, so the download is never silently short.
   */
  async function* storedDocuments(batch: BatchRow): AsyncGenerator<ConcatPdfSource, void, undefined> {
    const keys = Array.from({ length: Math.ceil(batch.totalCount / batch.chunkSize) }, (_, i) =>
      batchChunkPdfKey(batch.tenantId, batch.id, i),
    );
    // Which documents exist, asked of the store together rather than one round trip after another.
    const sizes = await Promise.all(keys.map((key) => blobs.size(key)));
    for (const [i, key] of keys.entries()) {
      if (sizes[i] !== undefined) {
        yield () => blobs.get(key);
        continue;
      }
      const rendered = (await repository.ticketsAt(batch, i * batch.chunkSize, (i + 1) * batch.chunkSize)).filter((row) => row.pdfKey);
      if (rendered.length === 0) continue;
      logger.warn(
        { action: "chunk_document_missing", batchId: batch.id, chunkIndex: i, tickets: rendered.length },
        "batch chunk document missing: its tickets' own PDFs are printed instead",
      );
      for (const row of rendered) yield () => blobs.get(row.pdfKey!);
    }
  }

  return {
    async createBatch(req, context) {
      return { batch: batchToProto(await issuer.issue(tenantOf(context), req)) };
    },

    async getBatch(req, context) {
      return { batch: batchToProto(await find(context, req.id)) };
    },

    // The cancel is committed in PostgreSQL before Redis is asked: the answer is CANCELLED even
    // when Redis does not take it, and CancelRelay tells the workers later (a retry tries again).
    async cancelBatch(req, context) {
      const existing = await find(context, req.id);
      const cancelled = await repository.cancel(existing.tenantId, existing.id, new Date());
      if (!cancelled) {
        const current = (await repository.find(existing.tenantId, existing.id)) ?? existing;
        if (current.status !== "CANCELLED") {
          throw new ConnectError(
            `batch ${req.id} has already ended (${current.status}); only a PROCESSING batch can be cancelled`,
            Code.FailedPrecondition,
          );
        }
        if (!current.cancelPropagatedAt) await cancelRelay.propagate(current);
        return { batch: batchToProto(current) };
      }
      await cancelRelay.propagate(cancelled);
      await progress.announce(cancelled.tenantId, cancelled.id);
      metrics.batchJobs.inc({ status: "CANCELLED" });
      return { batch: batchToProto(cancelled) };
    },

    async *watchBatch(req, context) {
      const tenantId = tenantOf(context);
      const stop = AbortSignal.any([context.signal, drainSignal]);
      const wakeUp = new WakeSignal(stop);
      // Listen before the first read so that no change falls in between; one announced during a
      // read makes the next sleep return at once, so it is read right after.
      const unlisten = await progress.listen(tenantId, req.id, () => wakeUp.wake());
      try {
        let last: BatchRow | undefined;
        while (!stop.aborted) {
          const row = await repository.find(tenantId, req.id);
          if (!row) throw new ConnectError(`batch ${req.id} not found`, Code.NotFound);
          const changed =
            !last || row.status !== last.status || row.completedCount !== last.completedCount || row.failedCount !== last.failedCount;
          if (changed) yield { batch: batchToProto(row) };
          if (TERMINAL.includes(row.status)) return;
          last = row;
          await wakeUp.sleep(watchPollIntervalMs);
        }
        // Cancelled or past its deadline: the call ends with that code, for its log line and metrics.
        if (context.signal.aborted) throw ConnectError.from(context.signal.reason, Code.Canceled);
        if (drainSignal.aborted) {
          throw new ConnectError(
            `this API server is shutting down; call WatchBatch again to keep watching batch ${req.id} (another server answers)`,
            Code.Unavailable,
          );
        }
      } finally {
        await unlisten();
      }
    },

    async *downloadBatchPdf(req, context) {
      const batch = await find(context, req.id);
      if (batch.status === "PROCESSING") {
        throw new ConnectError(
          `batch ${batch.id} is still processing (${batch.completedCount + batch.failedCount} of ${batch.totalCount} done); retry when it has ended`,
          Code.FailedPrecondition,
        );
      }
      if (batch.completedCount === 0) throw new ConnectError(`batch ${batch.id} has no generated ticket`, Code.FailedPrecondition);
      if (await repository.pdfsDeleted(batch)) {
        throw new ConnectError(
          `batch ${batch.id} has no PDF any more: it was deleted after the retention period (PDF_RETENTION_DAYS days after its tickets expired)`,
          Code.FailedPrecondition,
        );
      }
      for await (const chunk of printPdf(req.layout, {
        stored: () => storedDocuments(batch),
        cards: () => admittingTickets(batch),
        logo: () => logos.of(batch.tenantId),
        title: `Tickets of batch ${batch.id}`,
      }))
        yield { chunk };
    },
  };
}
