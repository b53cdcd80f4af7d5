import { Queue } from "bullmq";
import {
  chunkJobId,
  markBatchCancelled,
  RENDER_QUEUE,
  withTimeout,
  type ChunkResults,
  type Logger,
  type RedisConnection,
  type RenderChunkJob,
  type RenderResult,
  type RenderTicketJob,
} from "@ticketgen/shared";
import { TurnBatch } from "../turn-batch.ts";

export interface RenderQueueOptions {
  prefix: string;
  attempts: number;
  backoffDelayMs: number;
  /** An enqueue that takes longer is abandoned; the sweeper enqueues the ticket later. */
  timeoutMs: number;
}

/**
 * Where a render job stands, for the sweeper: never reached Redis (or expired), failed for good,
 * completed with the outcome the worker returned (a ticket's result, a chunk's results), or
 * alive (queued, running, or completed without an outcome: a chunk skipped for a cancel).
 */
export type RenderJobState =
  { state: "missing" | "alive" } | { state: "failed"; reason: string } | { state: "completed"; outcome: RenderResult | ChunkResults };

/** A job for the workers; its id is deterministic (ticket id, batch + chunk), so adding twice is a no-op. */
export interface RenderRequest {
  name: string;
  data: RenderTicketJob | RenderChunkJob;
  jobId: string;
  priority: number;
}

/** Producer side of the render queue. */
export class RenderQueue {
  private readonly queue: Queue<RenderTicketJob | RenderChunkJob, RenderResult | ChunkResults | null>;
  private readonly enqueues = new TurnBatch<readonly RenderRequest[], boolean>(async (calls) => {
    const added = await this.addAll(calls.flat());
    return calls.map(() => ({ status: "fulfilled", value: added }));
  });

  constructor(
    private readonly connection: RedisConnection,
    private readonly options: RenderQueueOptions,
    private readonly logger: Logger,
  ) {
    this.queue = new Queue(RENDER_QUEUE, {
      connection,
      prefix: options.prefix,
      defaultJobOptions: {
        attempts: options.attempts,
        backoff: { type: "exponential", delay: options.backoffDelayMs },
        // Kept for a while so that a re-enqueue of a finished ticket stays a no-op.
        removeOnComplete: { age: 24 * 3600, count: 100_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    });
    this.queue.on("error", (error) => this.logger.warn({ err: error }, "render queue error"));
  }

  /**
   * True when every job reached Redis; false (logged, never thrown) when Redis did not answer.
   * Calls made in the same turn of the event loop share one addBulk, one Redis round trip: under
   * load, CreateTicket calls arrive in bursts and each would otherwise pay a round trip alone.
   */
  enqueue(requests: readonly RenderRequest[]): Promise<boolean> {
    return requests.length === 0 ? Promise.resolve(true) : this.enqueues.add(requests);
  }

  private async addAll(requests: readonly RenderRequest[]): Promise<boolean> {
    const add = this.queue.addBulk(requests.map(({ name, data, jobId, priority }) => ({ name, data, opts: { jobId, priority } })));
    try {
      await withTimeout(add, this.options.timeoutMs, () => {
        throw new Error(`Redis did not answer within ${this.options.timeoutMs} ms`);
      });
      return true;
    } catch (error) {
      this.logger.warn(
        { action: "enqueue_failed", jobs: requests.length, err: error },
        "could not enqueue render jobs; the pending sweeper will retry",
      );
      return false;
    }
  }

  /** Per job id (a ticket's id, a chunk's chunkJobId), where its render job stands. */
  async jobStates(ids: readonly string[]): Promise<Map<string, RenderJobState>> {
    const states = await Promise.all(ids.map((id) => this.queue.getJobState(id)));
    const out = new Map<string, RenderJobState>();
    await Promise.all(
      ids.map(async (id, i) => {
        const state = states[i];
        if (state === "unknown") out.set(id, { state: "missing" });
        else if (state === "failed")
          out.set(id, { state: "failed", reason: (await this.queue.getJob(id))?.failedReason ?? "unknown reason" });
        else if (state === "completed") {
          const outcome = (await this.queue.getJob(id))?.returnvalue;
          out.set(id, outcome ? { state: "completed", outcome } : { state: "alive" });
        } else out.set(id, { state: "alive" });
      }),
    );
    return out;
  }

  /** Render jobs not finished yet: waiting, prioritized, delayed or running. */
  async backlog(): Promise<number> {
    const counts = await this.queue.getJobCounts("waiting", "prioritized", "delayed", "active");
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /**
   * The workers skip the batch's chunks they have taken; the chunks still queued are removed
   * outright. Throws when Redis has not done both within the enqueue timeout.
   */
  async cancelBatch(tenantId: string, batchId: string, chunkCount: number): Promise<void> {
    const cancel = async () => {
      await markBatchCancelled(this.connection, this.options.prefix, tenantId, batchId);
      // A chunk being drawn is locked and cannot be removed: the mark has it skipped if retried.
      await Promise.all(Array.from({ length: chunkCount }, (_, i) => this.queue.remove(chunkJobId(batchId, i)).catch(() => 0)));
    };
    await withTimeout(cancel(), this.options.timeoutMs, () => {
      throw new Error(`Redis did not answer within ${this.options.timeoutMs} ms`);
    });
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
