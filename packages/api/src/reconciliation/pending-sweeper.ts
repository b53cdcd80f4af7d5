import { chunkJobId, type Logger } from "@ticketgen/shared";
import type { BatchIssuer } from "../batches/batch-issuer.ts";
import type { BatchRepository } from "../batches/batch-repository.ts";
import type { ResultRecorder } from "../results/result-recorder.ts";
import type { TicketRepository } from "../tickets/ticket-repository.ts";
import type { RenderDispatcher } from "../queue/render-dispatcher.ts";
import type { RenderQueue } from "../queue/render-queue.ts";
import type { CancelRelay } from "./cancel-relay.ts";
import { PeriodicTask } from "./periodic-task.ts";

const SWEEP_LIMIT = 1000;
const BATCH_SWEEP_LIMIT = 50;

/**
 * Nothing stored is lost. A single ticket or a batch chunk whose job never reached Redis
 * (Redis was down during the create call) stays PENDING, and this loop enqueues it again; one
 * whose job failed without the worker reporting it (killed on its last attempt) is marked
 * FAILED; one whose job completed but whose reported outcome never got applied (its result job
 * lost) gets the outcome the job returned, without a second render. Job ids are deterministic,
 * so work already queued, running or done is not repeated.
 * A cancel Redis did not take is told to the workers (CancelRelay) at start and on every sweep.
 */
export class PendingSweeper {
  private readonly task: PeriodicTask;

  constructor(
    private readonly deps: {
      tickets: TicketRepository;
      batches: BatchRepository;
      batchIssuer: BatchIssuer;
      renderQueue: RenderQueue;
      dispatcher: RenderDispatcher;
      results: ResultRecorder;
      cancelRelay: CancelRelay;
    },
    private readonly options: { intervalMs: number; minAgeMs: number },
    private readonly logger: Logger,
  ) {
    this.task = new PeriodicTask((error) => this.logger.warn({ err: error }, "pending sweep failed"));
  }

  start(): void {
    // Cancels committed while Redis was unreachable, before a restart, are told at once.
    this.task.runNow(() => this.deps.cancelRelay.relay());
    this.task.every(this.options.intervalMs, () => this.sweep());
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** Returns how many lost jobs (single tickets and chunks) were handed to the queue again. */
  async sweep(now: Date = new Date()): Promise<number> {
    const olderThan = new Date(now.getTime() - this.options.minAgeMs);
    await this.deps.cancelRelay.relay();
    return (await this.sweepTickets(olderThan)) + (await this.sweepBatches(olderThan));
  }

  private async sweepTickets(olderThan: Date): Promise<number> {
    const { tickets, renderQueue, dispatcher, results } = this.deps;
    const pending = await tickets.findPending(olderThan, SWEEP_LIMIT);
    if (pending.length === 0) return 0;
    const states = await renderQueue.jobStates(pending.map((ticket) => ticket.id));
    const rendered = pending.flatMap((ticket) => {
      const state = states.get(ticket.id);
      return state?.state === "completed" && "outcome" in state.outcome ? [state.outcome] : [];
    });
    for (const outcome of rendered) await results.apply(outcome);
    if (rendered.length > 0) this.logRecovered({ tickets: rendered.length });
    for (const ticket of pending) {
      const state = states.get(ticket.id);
      if (state?.state === "failed") {
        await results.apply({
          outcome: "failed",
          tenantId: ticket.tenantId,
          ticketId: ticket.id,
          reason: `rendering failed: ${state.reason}`,
          failedAt: new Date().toISOString(),
        });
      }
    }
    const lost = pending.filter((ticket) => states.get(ticket.id)?.state === "missing");
    if (lost.length === 0 || !(await dispatcher.dispatch(lost))) return 0;
    this.logger.info({ action: "pending_swept", tickets: lost.length }, "re-enqueued tickets whose render job was lost");
    return lost.length;
  }

  private async sweepBatches(olderThan: Date): Promise<number> {
    const { batches, batchIssuer, renderQueue, results } = this.deps;
    let swept = 0;
    for (const batch of await batches.findProcessing(olderThan, BATCH_SWEEP_LIMIT)) {
      const chunks = await batches.pendingChunks(batch);
      if (chunks.length === 0) continue;
      const states = await renderQueue.jobStates(chunks.map((index) => chunkJobId(batch.id, index)));
      const lost = new Set<number>();
      for (const index of chunks) {
        const state = states.get(chunkJobId(batch.id, index));
        if (state?.state === "missing") lost.add(index);
        if (state?.state === "completed" && "results" in state.outcome) {
          await results.applyChunk(state.outcome);
          this.logRecovered({ batchId: batch.id, chunkIndex: index });
        }
        if (state?.state !== "failed") continue;
        const rows = await batches.ticketsAt(batch, index * batch.chunkSize, (index + 1) * batch.chunkSize);
        const failedAt = new Date().toISOString();
        await results.applyChunk({
          tenantId: batch.tenantId,
          batchId: batch.id,
          chunkIndex: index,
          results: rows.map((t) => ({
            outcome: "failed",
            tenantId: t.tenantId,
            ticketId: t.id,
            reason: `rendering failed: ${state.reason}`,
            failedAt,
          })),
        });
      }
      if (lost.size === 0) continue;
      const first = Math.min(...lost);
      const rows = await batches.ticketsAt(batch, first * batch.chunkSize, (Math.max(...lost) + 1) * batch.chunkSize);
      if (
        await batchIssuer.dispatch(
          batch,
          rows.filter((t) => t.status === "PENDING"),
          { lost, pending: chunks },
        )
      )
        swept += lost.size;
    }
    if (swept > 0) this.logger.info({ action: "chunks_swept", chunks: swept }, "re-enqueued batch chunks whose job was lost");
    return swept;
  }

  private logRecovered(what: { tickets: number } | { batchId: string; chunkIndex: number }): void {
    this.logger.info({ action: "outcomes_recovered", ...what }, "applied outcomes returned by completed render jobs and not applied yet");
  }
}
