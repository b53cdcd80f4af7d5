import type { Logger } from "@ticketgen/shared";
import type { WebhookEvent } from "../webhooks/webhook-events.ts";
import type { WebhookNotifier } from "../webhooks/webhook-notifier.ts";
import type { WebhookOutbox } from "../webhooks/webhook-outbox.ts";
import { PeriodicTask } from "./periodic-task.ts";

const RELAY_LIMIT = 500;

/**
 * Nothing announced is lost. The result recorder writes each webhook event to the outbox in the
 * transaction that changed the status, then queues it at once; an event that never reached the
 * webhooks queue (the API died in between, Redis refused) or whose job vanished (Redis restarted
 * empty) is still undelivered in the outbox, and this loop queues it again under the same
 * delivery id. An event is looked at once it has waited `minAgeMs` since it was recorded or last
 * found queued, so a job still on its way or in its retries is left alone. Delivered and
 * given-up events are deleted after the retention.
 */
export class WebhookRelay {
  private readonly task: PeriodicTask;

  constructor(
    private readonly deps: { outbox: WebhookOutbox; notifier: WebhookNotifier },
    private readonly options: { intervalMs: number; minAgeMs: number; retentionMs: number },
    private readonly logger: Logger,
  ) {
    this.task = new PeriodicTask((error) => this.logger.warn({ err: error }, "webhook relay failed"));
  }

  start(): void {
    // Events a killed API committed and never queued go out as soon as they are old enough.
    this.task.runNow(() => this.relay());
    this.task.every(this.options.intervalMs, () => this.relay());
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** Returns how many events were put on the queue again. */
  async relay(now: Date = new Date()): Promise<number> {
    const { outbox, notifier } = this.deps;
    const pruned = await outbox.prune(new Date(now.getTime() - this.options.retentionMs));
    if (pruned > 0) this.logger.info({ action: "webhook_outbox_pruned", events: pruned }, "deleted settled webhook events past retention");
    const due = await outbox.due(new Date(now.getTime() - this.options.minAgeMs), RELAY_LIMIT);
    if (due.length === 0) return 0;
    const states = await notifier.jobStates(due.map((event) => event.id));
    const lost: WebhookEvent[] = [];
    const queued: WebhookEvent[] = [];
    for (const event of due) {
      const job = states.get(event.id);
      // The worker's own write of the outcome did not reach PostgreSQL; the job still says it.
      if (job?.state === "completed") await outbox.markDelivered(event.tenantId, event.id, job.finishedAt);
      else if (job?.state === "failed") await outbox.markGaveUp(event.tenantId, event.id, now);
      else if (job?.state === "alive") queued.push(event);
      else lost.push(event);
    }
    await notifier.enqueue(lost);
    await outbox.markChecked([...queued, ...lost], now);
    if (lost.length > 0) {
      this.logger.info(
        { action: "webhooks_requeued", events: lost.length, deliveryIds: lost.slice(0, 10).map((event) => event.id) },
        "queued webhook events again whose delivery never reached the webhooks queue or was lost with it",
      );
    }
    return lost.length;
  }
}
