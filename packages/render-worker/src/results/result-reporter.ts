import { Queue } from "bullmq";
import {
  CHUNK_RESULTS_JOB,
  chunkResultsJobId,
  RENDER_RESULT_JOB,
  RESULT_ATTEMPTS,
  RESULT_BACKOFF,
  RESULTS_QUEUE,
  renderResultJobId,
  type ChunkResults,
  type RedisConnection,
  type RenderResult,
} from "@ticketgen/shared";

/** Sends outcomes to the API through the results queue; workers have no database access. */
export class ResultReporter {
  private readonly queue: Queue<RenderResult | ChunkResults>;

  constructor(connection: RedisConnection, prefix: string) {
    this.queue = new Queue(RESULTS_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: {
        // Retried until the API has applied it: an outcome is never dropped for an outage.
        attempts: RESULT_ATTEMPTS,
        backoff: { type: RESULT_BACKOFF },
        stackTraceLimit: 3,
        removeOnComplete: { age: 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    });
  }

  /** One result per ticket, outcome and PDF (the job id): the same report sent twice is dropped by Redis. */
  async report(result: RenderResult): Promise<void> {
    await this.queue.add(RENDER_RESULT_JOB, result, { jobId: renderResultJobId(result) });
  }

  /** A chunk's outcomes travel together: the API applies them and the batch counts at once. */
  async reportChunk(chunk: ChunkResults): Promise<void> {
    await this.queue.add(CHUNK_RESULTS_JOB, chunk, { jobId: chunkResultsJobId(chunk) });
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
