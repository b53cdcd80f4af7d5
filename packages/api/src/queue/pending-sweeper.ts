import type { Logger } from "@ticketgen/shared";
import type { TicketRepository } from "../tickets/ticket-repository.ts";
import type { TicketRow } from "../db/schema.ts";
import type { RenderDispatcher } from "../tickets/render-dispatcher.ts";
import type { RenderQueue } from "./render-queue.ts";

const SWEEP_LIMIT = 1000;

/**
 * Nothing stored is lost: a ticket whose job never reached Redis (Redis was down during
 * CreateTicket) stays PENDING, and this loop enqueues it again; a ticket whose job failed
 * without the worker reporting it (killed on its last attempt) is marked FAILED. The job id is
 * the ticket id, so tickets whose job is queued, running or done are not rendered twice.
 */
export class PendingSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly repository: TicketRepository,
    private readonly renderQueue: RenderQueue,
    private readonly dispatcher: RenderDispatcher,
    private readonly options: { intervalMs: number; minAgeMs: number },
    private readonly onJobFailed: (ticket: TicketRow, reason: string) => Promise<void>,
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

  /** Returns how many lost tickets were handed to the queue again. */
  async sweep(now: Date = new Date()): Promise<number> {
    const pending = await this.repository.findPending(new Date(now.getTime() - this.options.minAgeMs), SWEEP_LIMIT);
    if (pending.length === 0) return 0;
    const states = await this.renderQueue.jobStates(pending.map((ticket) => ticket.id));
    const lost = pending.filter((ticket) => states.get(ticket.id)?.state === "missing");
    for (const ticket of pending) {
      const state = states.get(ticket.id);
      if (state?.state === "failed") await this.onJobFailed(ticket, state.reason);
    }
    if (lost.length === 0 || !(await this.dispatcher.dispatch(lost))) return 0;
    this.logger.info({ action: "pending_swept", tickets: lost.length }, "re-enqueued tickets whose render job was lost");
    return lost.length;
  }
}
