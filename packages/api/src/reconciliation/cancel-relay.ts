import type { Logger } from "@ticketgen/shared";
import type { BatchRepository } from "../batches/batch-repository.ts";
import type { BatchRow } from "../db/schema.ts";
import type { RenderQueue } from "../queue/render-queue.ts";

const RELAY_LIMIT = 100;

/**
 * Tells the workers about cancels committed in PostgreSQL: the Redis cancel mark (a chunk
 * already taken is skipped) and the removal of the chunks still queued. CancelBatch tries at
 * once; the batches row is the outbox, so a cancel Redis did not take (down, slow) is told
 * later, by a retried CancelBatch or by relay() at API start and on every sweep. Telling
 * twice changes nothing.
 */
export class CancelRelay {
  constructor(
    private readonly deps: { batches: BatchRepository; renderQueue: RenderQueue },
    private readonly logger: Logger,
  ) {}

  /** True once the workers were told; false (logged) when Redis did not take it, left for relay(). */
  async propagate(batch: BatchRow): Promise<boolean> {
    const { batches, renderQueue } = this.deps;
    try {
      await renderQueue.cancelBatch(batch.tenantId, batch.id, Math.ceil(batch.totalCount / batch.chunkSize));
    } catch (error) {
      this.logger.warn(
        { action: "cancel_not_propagated", batchId: batch.id, err: error },
        "batch cancelled, but Redis did not take the cancel; the relay tells the workers once Redis answers",
      );
      return false;
    }
    await batches.markCancelPropagated(batch.tenantId, batch.id, new Date());
    return true;
  }

  /** Tells every cancel not told yet; returns how many were told. */
  async relay(): Promise<number> {
    let told = 0;
    for (const batch of await this.deps.batches.findUnpropagatedCancels(RELAY_LIMIT)) {
      if (!(await this.propagate(batch))) break;
      told += 1;
    }
    if (told > 0)
      this.logger.info({ action: "cancels_relayed", batches: told }, "told the workers of batches cancelled while Redis was unreachable");
    return told;
  }
}
