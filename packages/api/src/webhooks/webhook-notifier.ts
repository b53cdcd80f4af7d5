import { Queue, Worker, type Job } from "bullmq";
import { withTimeout, type Logger, type RedisConnection } from "@ticketgen/shared";
import type { EventType, WebhookEvent } from "./webhook-events.ts";
import type { WebhookOutbox } from "./webhook-outbox.ts";
import { SIGNATURE_HEADER, signWebhook } from "./webhook-signature.ts";

export const WEBHOOK_QUEUE = "webhooks";
const DELIVERY_TIMEOUT_MS = 10_000;

/** One delivery attempt; a failed last attempt counts as gave_up, so attempts sum to the total. */
export type WebhookOutcome = "delivered" | "http_error" | "network_error" | "gave_up";

/** Where delivery attempts are counted (the API's metrics). */
export interface WebhookMetrics {
  webhookAttempt(event: EventType, outcome: WebhookOutcome, seconds: number): void;
}

/** A job of the webhooks queue: an outbox event, whose delivery id is the job id. */
interface WebhookDelivery {
  tenantId: string;
  type: EventType;
  occurredAt: string;
  data: Record<string, unknown>;
}

/** Where an event's job stands, for the relay. */
export type WebhookJobState = { state: "missing" | "alive" | "failed" } | { state: "completed"; finishedAt: Date };

export interface WebhookOptions {
  url: string;
  secret: Buffer;
  previousSecret: Buffer | undefined;
  maxAttempts: number;
  retryDelayMs: number;
  prefix: string;
  /** An enqueue Redis has not taken by then is abandoned; the event waits in the outbox for the relay. */
  enqueueTimeoutMs: number;
}

/**
 * Tells the core service about finished tickets and batches: the webhooks queue carries the
 * events of the outbox, each POSTed as signed JSON and retried with exponential backoff until
 * answered 2xx, then marked delivered in the outbox (or given up after the last attempt). At
 * least once; the delivery id (also the job id) lets the receiver drop duplicates and makes a
 * second enqueue of an event a no-op. Rendering never waits on it.
 */
export class WebhookNotifier {
  private readonly queue: Queue<WebhookDelivery>;
  private readonly worker: Worker<WebhookDelivery>;
  private readonly signingSecrets: readonly Buffer[];

  constructor(
    producer: RedisConnection,
    consumer: RedisConnection,
    private readonly outbox: WebhookOutbox,
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
        // Kept a while so that the relay still finds a delivery whose outbox row could not be marked.
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

  /**
   * Puts events just recorded in the outbox on the queue. Never throws: an event Redis did not
   * take (down, slow, refusing) stays in the outbox, and the relay enqueues it later.
   */
  async send(events: readonly WebhookEvent[]): Promise<void> {
    try {
      await this.enqueue(events);
    } catch (error) {
      this.logger.warn(
        { action: "webhook_not_enqueued", deliveryIds: events.map((event) => event.id), err: error },
        "could not queue webhook deliveries; they wait in the outbox for the relay",
      );
    }
  }

  /** Adds the events' jobs (an event whose job exists is left as it is); throws when Redis does not take them in time. */
  async enqueue(events: readonly WebhookEvent[]): Promise<void> {
    if (events.length === 0) return;
    const add = this.queue.addBulk(
      events.map((event) => ({
        name: event.type,
        data: { tenantId: event.tenantId, type: event.type, occurredAt: event.occurredAt.toISOString(), data: event.data },
        opts: { jobId: event.id },
      })),
    );
    await withTimeout(add, this.options.enqueueTimeoutMs, () => {
      throw new Error(`Redis did not answer within ${this.options.enqueueTimeoutMs} ms`);
    });
  }

  /** Per delivery id, where its job stands: gone (never queued, or Redis lost it), queued or running, given up, or done. */
  async jobStates(ids: readonly string[]): Promise<Map<string, WebhookJobState>> {
    const out = new Map<string, WebhookJobState>();
    await Promise.all(
      ids.map(async (id) => {
        const state = await this.queue.getJobState(id);
        if (state === "unknown") out.set(id, { state: "missing" });
        else if (state === "failed") out.set(id, { state: "failed" });
        else if (state === "completed") {
          const finishedOn = (await this.queue.getJob(id))?.finishedOn;
          out.set(id, { state: "completed", finishedAt: finishedOn ? new Date(finishedOn) : new Date() });
        } else out.set(id, { state: "alive" });
      }),
    );
    return out;
  }

  private async deliver(job: Job<WebhookDelivery>): Promise<void> {
    const deliveryId = String(job.id);
    const { tenantId, type } = job.data;
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const body = JSON.stringify({ id: deliveryId, type, occurredAt: job.data.occurredAt, data: job.data.data });
    const started = performance.now();
    let outcome: WebhookOutcome = "network_error";
    try {
      const response = await fetch(this.options.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-ticketgen-event": type,
          "x-ticketgen-delivery": deliveryId,
          [SIGNATURE_HEADER]: signWebhook(this.signingSecrets, body, Math.floor(Date.now() / 1000)),
        },
        body,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await response.body?.cancel();
      outcome = response.ok ? "delivered" : "http_error";
      if (!response.ok) throw new Error(`the core service answered ${response.status}`);
    } catch (error) {
      if (lastAttempt) await this.record(() => this.outbox.markGaveUp(tenantId, deliveryId, new Date()), deliveryId);
      throw error;
    } finally {
      this.metrics.webhookAttempt(type, outcome !== "delivered" && lastAttempt ? "gave_up" : outcome, (performance.now() - started) / 1000);
    }
    await this.record(() => this.outbox.markDelivered(tenantId, deliveryId, new Date()), deliveryId);
    this.logger.info({ action: "webhook_delivered", deliveryId, type }, "webhook delivered");
  }

  /**
   * Writes a delivery's fate to the outbox. When PostgreSQL does not take it, the job's own state
   * (completed, failed) still says it, and the relay copies it over later: sending again would
   * only repeat a POST the core service already answered.
   */
  private async record(mark: () => Promise<void>, deliveryId: string): Promise<void> {
    try {
      await mark();
    } catch (error) {
      this.logger.warn(
        { action: "webhook_not_recorded", deliveryId, err: error },
        "could not record a webhook delivery's outcome in the outbox; the relay records it from the job",
      );
    }
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
  }
}
