import { Queue, Worker, type Job } from "bullmq";
import type { Logger, RedisConnection } from "@ticketgen/shared";
import type { BatchRow, TicketRow } from "../db/schema.ts";
import { SIGNATURE_HEADER, signWebhook } from "./webhook-signature.ts";

export const WEBHOOK_QUEUE = "webhooks";
const DELIVERY_TIMEOUT_MS = 10_000;

export type TicketEventType = "ticket.generated" | "ticket.failed";
export type EventType = TicketEventType | "batch.completed";

/** One delivery attempt; a failed last attempt counts as gave_up, so attempts sum to the total. */
export type WebhookOutcome = "delivered" | "http_error" | "network_error" | "gave_up";

/** Where delivery attempts are counted (the API's metrics). */
export interface WebhookMetrics {
  webhookAttempt(event: EventType, outcome: WebhookOutcome, seconds: number): void;
}

export interface WebhookDelivery {
  type: EventType;
  occurredAt: string;
  data: Record<string, unknown>;
}

export interface WebhookOptions {
  url: string;
  secret: Buffer;
  previousSecret: Buffer | undefined;
  maxAttempts: number;
  retryDelayMs: number;
  prefix: string;
}

export function ticketEventData(row: TicketRow): Record<string, unknown> {
  return {
    ticketId: row.id,
    ticketCode: row.ticketCode,
    tenantId: row.tenantId,
    eventId: row.eventId,
    guestId: row.guestId,
    batchId: row.batchId,
    status: row.status,
    pdfSize: row.pdfSize,
    pdfSha256: row.pdfSha256,
    failureReason: row.failureReason,
    createdAt: row.createdAt.toISOString(),
    generatedAt: row.generatedAt?.toISOString() ?? null,
  };
}

/**
 * Tells the core service about finished tickets: a queue of deliveries, each POSTed as signed
 * JSON and retried with exponential backoff until answered 2xx. At least once; a delivery id
 * (also the job id) lets the receiver drop duplicates. Rendering never waits on it.
 */
export class WebhookNotifier {
  private readonly queue: Queue<WebhookDelivery>;
  private readonly worker: Worker<WebhookDelivery>;
  private readonly signingSecrets: readonly Buffer[];

  constructor(
    producer: RedisConnection,
    consumer: RedisConnection,
    private readonly options: WebhookOptions,
    private readonly metrics: WebhookMetrics,
    private readonly logger: Logger,
  ) {
    this.signingSecrets = options.previousSecret ? [options.secret, options.previousSecret] : [options.secret];
    this.queue = new Queue(WEBHOOK_QUEUE, {
      connection: producer,
      prefix: options.prefix,
      defaultJobOptions: {
        attempts: options.maxAttempts,
        backoff: { type: "exponential", delay: options.retryDelayMs },
        // Kept so that the same event enqueued again (a retried result) stays one delivery.
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    });
    this.queue.on("error", (error) => logger.warn({ err: error }, "webhook queue error"));
    this.worker = new Worker(WEBHOOK_QUEUE, (job) => this.deliver(job), { connection: consumer, prefix: options.prefix, concurrency: 8 });
    this.worker.on("error", (error) => logger.warn({ err: error }, "webhook worker error"));
    this.worker.on("failed", (job, error) =>
      logger.warn({ action: "webhook_failed", deliveryId: job?.id, attempt: job?.attemptsMade, err: error }, "webhook delivery failed"),
    );
  }

  async notify(type: TicketEventType, row: TicketRow): Promise<void> {
    await this.enqueue(type, row.id, ticketEventData(row));
  }

  /** A batch reached COMPLETED or FAILED (the counts say how many tickets failed). */
  async notifyBatch(batch: BatchRow): Promise<void> {
    await this.enqueue("batch.completed", batch.id, {
      batchId: batch.id,
      tenantId: batch.tenantId,
      eventId: batch.eventId,
      status: batch.status,
      totalCount: batch.totalCount,
      completedCount: batch.completedCount,
      failedCount: batch.failedCount,
      createdAt: batch.createdAt.toISOString(),
      completedAt: batch.completedAt?.toISOString() ?? null,
    });
  }

  private async enqueue(type: EventType, subjectId: string, data: Record<string, unknown>): Promise<void> {
    const delivery: WebhookDelivery = { type, occurredAt: new Date().toISOString(), data };
    await this.queue.add(type, delivery, { jobId: `${type}.${subjectId}` });
  }

  private async deliver(job: Job<WebhookDelivery>): Promise<void> {
    const body = JSON.stringify({ id: job.id, type: job.data.type, occurredAt: job.data.occurredAt, data: job.data.data });
    const started = performance.now();
    let outcome: WebhookOutcome = "network_error";
    try {
      const response = await fetch(this.options.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-ticketgen-event": job.data.type,
          "x-ticketgen-delivery": String(job.id),
          [SIGNATURE_HEADER]: signWebhook(this.signingSecrets, body, Math.floor(Date.now() / 1000)),
        },
        body,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await response.body?.cancel();
      outcome = response.ok ? "delivered" : "http_error";
      if (!response.ok) throw new Error(`the core service answered ${response.status}`);
    } finally {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      this.metrics.webhookAttempt(
        job.data.type,
        outcome !== "delivered" && lastAttempt ? "gave_up" : outcome,
        (performance.now() - started) / 1000,
      );
    }
    this.logger.info({ action: "webhook_delivered", deliveryId: job.id, type: job.data.type }, "webhook delivered");
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
  }
}
