import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { RESULTS_QUEUE, type Logger, type RenderResult } from "@ticketgen/shared";
import type { TicketRepository } from "../tickets/ticket-repository.ts";
import type { WebhookNotifier } from "../webhooks/webhook-notifier.ts";

/**
 * Applies render outcomes reported by the workers (which have no database access). Results may
 * arrive twice or out of order; TicketRepository.applyResult keeps the ticket consistent.
 */
export class ResultsConsumer {
  private readonly worker: Worker<RenderResult>;

  constructor(
    connection: Redis,
    prefix: string,
    private readonly repository: TicketRepository,
    private readonly webhooks: WebhookNotifier | undefined,
    private readonly logger: Logger,
  ) {
    this.worker = new Worker(RESULTS_QUEUE, (job) => this.apply(job.data), { connection, prefix, concurrency: 16 });
    this.worker.on("error", (error) => logger.warn({ err: error }, "results consumer error"));
  }

  /** Exposed for the sweeper, which records failures the workers could not report. */
  async apply(result: RenderResult): Promise<void> {
    const changed = await this.repository.applyResult(result);
    if (changed) {
      const fields = { ticketId: changed.id, ticketCode: changed.ticketCode, eventId: changed.eventId, guestId: changed.guestId, templateId: changed.templateId };
      if (result.outcome === "generated") {
        this.logger.info(
          { action: "ticket_generated", ...fields, pdfSize: result.pdfSize, generationTime: Date.now() - changed.createdAt.getTime(), renderMs: result.renderMs },
          "ticket generated",
        );
      } else {
        this.logger.warn({ action: "ticket_failed", ...fields, reason: result.reason }, "ticket rendering failed");
      }
    }
    if (!this.webhooks) return;
    // Re-read so that a redelivered result still notifies (the job id keeps it one delivery).
    const current = changed ?? (await this.repository.findById(result.tenantId, result.ticketId));
    const expected = result.outcome === "generated" ? "GENERATED" : "FAILED";
    if (current?.status === expected) await this.webhooks.notify(`ticket.${result.outcome}`, current);
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
