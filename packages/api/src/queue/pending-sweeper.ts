import type { Logger } from "@ticketgen/shared";
import { renderRequestFor } from "../tickets/ticket-mapping.ts";
import type { TicketRepository } from "../tickets/ticket-repository.ts";
import type { RenderQueue } from "./render-queue.ts";

const SWEEP_LIMIT = 1000;

/**
 * Nothing stored is lost: a ticket whose job never reached Redis (Redis was down during
 * CreateTicket) stays PENDING, and this loop enqueues it again. The job id is the ticket id,
 * so tickets whose job is already queued, running or done are not rendered twice.
 */
export class PendingSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly repository: TicketRepository,
    private readonly renderQueue: RenderQueue,
    private readonly options: { intervalMs: number; minAgeMs: number },
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .then(() => undefined, (error) => this.logger.warn({ err: error }, "pending sweep failed"))
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Returns how many tickets were handed to the queue. */
  async sweep(now: Date = new Date()): Promise<number> {
    const pending = await this.repository.findPending(new Date(now.getTime() - this.options.minAgeMs), SWEEP_LIMIT);
    if (pending.length === 0) return 0;
    const enqueued = await this.renderQueue.enqueue(pending.map(renderRequestFor));
    if (!enqueued) return 0;
    this.logger.info({ action: "pending_swept", tickets: pending.length }, "re-enqueued pending tickets");
    return pending.length;
  }
}
