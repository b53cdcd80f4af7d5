import { Queue, Worker, type Job } from "bullmq";
import {
  CHUNK_RESULTS_JOB,
  RESULTS_QUEUE,
  type ChunkResults,
  type Logger,
  type RedisConnection,
  type RenderResult,
} from "@ticketgen/shared";
import type { BatchProgress } from "../batches/batch-progress.ts";
import type { BatchRepository, ChunkApplied } from "../batches/batch-repository.ts";
import type { Db } from "../db/database.ts";
import type { TicketRow } from "../db/schema.ts";
import type { TicketRepository } from "../tickets/ticket-repository.ts";
import { batchCompletedEvent, ticketEvents, type WebhookEvent } from "../webhooks/webhook-events.ts";
import type { WebhookNotifier } from "../webhooks/webhook-notifier.ts";
import { WebhookOutbox } from "../webhooks/webhook-outbox.ts";
import type { ApiMetrics } from "../metrics/api-metrics.ts";
import { cappedExponentialBackoff } from "./result-backoff.ts";
import type { SupersededPdfs } from "./superseded-pdfs.ts";

/**
 * Applies render outcomes reported by the workers (which have no database access): single
 * tickets one by one, a batch chunk's hundred outcomes and its batch counts in one transaction.
 * Results may arrive twice or out of order; TicketRepository.applyResults keeps tickets
 * consistent and reports what changed, so counts and notifications happen once. With webhooks,
 * the events of what changed go to the outbox in the same transaction and are queued right
 * after it commits (the WebhookRelay queues those that did not make it). The PDFs of renders
 * that lost are deleted (SupersededPdfs). A result that cannot be applied (PostgreSQL down) is
 * retried with a capped backoff for as long as it takes.
 */
export class ResultRecorder {
  private readonly worker: Worker<RenderResult | ChunkResults>;
  /** Only to count the backlog. */
  private readonly queue: Queue<RenderResult | ChunkResults>;

  constructor(
    connection: RedisConnection,
    prefix: string,
    private readonly tickets: TicketRepository,
    private readonly batches: BatchRepository,
    private readonly progress: BatchProgress,
    private readonly webhooks: WebhookNotifier | undefined,
    private readonly superseded: SupersededPdfs,
    private readonly metrics: ApiMetrics,
    private readonly logger: Logger,
    retry: { delayMs: number; maxDelayMs: number },
  ) {
    this.worker = new Worker(
      RESULTS_QUEUE,
      async (job: Job<RenderResult | ChunkResults>) => {
        await (job.name === CHUNK_RESULTS_JOB ? this.applyChunk(job.data as ChunkResults) : this.apply(job.data as RenderResult));
        // job.timestamp is when the worker reported it: retries of this job count as lag too.
        this.metrics.resultsLag.observe((Date.now() - job.timestamp) / 1000);
      },
      // Workers mark result jobs with RESULT_BACKOFF; this strategy computes their delays.
      // Applying a result takes milliseconds and BullMQ renews the lock while it runs, so a short
      // lock lets another API replica take back the results of one that died within seconds
      // rather than BullMQ's default 30-60 s; a result applied twice changes nothing.
      {
        connection,
        prefix,
        concurrency: 8,
        lockDuration: 10_000,
        stalledInterval: 5_000,
        settings: { backoffStrategy: cappedExponentialBackoff(retry) },
      },
    );
    this.queue = new Queue(RESULTS_QUEUE, { connection, prefix });
    this.worker.on("error", (error) => logger.warn({ err: error }, "results consumer error"));
  }

  /**
   * One single ticket's outcome. Also used by the sweeper, for the outcome a completed render job
   * returned and for failures no worker reported.
   */
  async apply(result: RenderResult): Promise<void> {
    const { changed, events } = await this.applyTickets(result.tenantId, [result]);
    const [ticket] = changed;
    if (ticket) {
      this.log(ticket, result);
      this.metrics.ticketsFinished([ticket]);
    }
    await this.superseded.discard([result], changed);
    await this.webhooks?.send(events);
  }

  /** The outcomes, and with webhooks the events of the tickets they finished, in one transaction. */
  private async applyTickets(tenantId: string, results: RenderResult[]): Promise<{ changed: TicketRow[]; events: WebhookEvent[] }> {
    if (!this.webhooks) return { changed: await this.tickets.applyResults(tenantId, results), events: [] };
    const { changed, effects } = await this.tickets.applyResultsWith(tenantId, results, (tx, changed) =>
      new WebhookOutbox(tx).add(ticketEvents(changed, new Date())),
    );
    return { changed, events: effects };
  }

  /** A chunk's outcomes and its batch's counts, atomically; then progress and, at the end, notice. Also used by the sweeper. */
  async applyChunk(chunk: ChunkResults): Promise<void> {
    const now = new Date();
    const recordEnd = async (tx: Db, { ended, batch }: ChunkApplied) =>
      this.webhooks && ended && batch ? new WebhookOutbox(tx).add([batchCompletedEvent(batch, now)]) : [];
    const applied = await this.batches.applyChunkResults(chunk.tenantId, chunk.batchId, chunk.results, now, recordEnd);
    const { batch, ended, changed } = applied;
    const outcomes = new Map(chunk.results.map((r) => [r.ticketId, r]));
    for (const ticket of changed) this.log(ticket, outcomes.get(ticket.id)!);
    this.metrics.ticketsFinished(changed);
    await this.superseded.discard(chunk.results, changed);
    await this.progress.announce(chunk.tenantId, chunk.batchId);
    if (ended && batch) {
      this.metrics.batchJobs.inc({ status: batch.status });
      this.logger.info(
        {
          action: "batch_completed",
          batchId: batch.id,
          status: batch.status,
          total: batch.totalCount,
          generated: batch.completedCount,
          failed: batch.failedCount,
        },
        "batch finished",
      );
    }
    await this.webhooks?.send(applied.effects);
  }

  private log(ticket: TicketRow, result: RenderResult): void {
    const fields = {
      ticketId: ticket.id,
      ticketCode: ticket.ticketCode,
      eventId: ticket.eventId,
      guestId: ticket.guestId,
      templateId: ticket.templateId,
      batchId: ticket.batchId ?? undefined,
    };
    if (result.outcome === "generated") {
      this.logger.info(
        {
          action: "ticket_generated",
          ...fields,
          pdfSize: result.pdfSize,
          generationTime: Date.now() - ticket.createdAt.getTime(),
          renderMs: result.renderMs,
        },
        "ticket generated",
      );
    } else {
      this.logger.warn({ action: "ticket_failed", ...fields, reason: result.reason }, "ticket rendering failed");
    }
  }

  /** Outcomes reported and not applied yet: waiting, retrying after a failed apply, or in progress. */
  async backlog(): Promise<number> {
    const counts = await this.queue.getJobCounts("waiting", "prioritized", "delayed", "active");
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /**
   * When the oldest outcome not applied yet was reported: waiting lists are read from their
   * oldest end; delayed (retrying) and active jobs are few, so up to a thousand are looked at.
   */
  async oldestUnrecorded(): Promise<Date | undefined> {
    const jobs = (
      await Promise.all([
        this.queue.getJobs(["waiting"], 0, 0, true),
        this.queue.getJobs(["prioritized"], 0, 0, true),
        this.queue.getJobs(["delayed", "active"], 0, 999, true),
      ])
    ).flat();
    const oldest = Math.min(...jobs.map((job) => job.timestamp));
    return Number.isFinite(oldest) ? new Date(oldest) : undefined;
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
  }
}
