import { batchCancelledKey } from "./jobs.ts";
import type { RedisConnection } from "./redis.ts";

/** Outlives every retry and stall of a chunk that was already running when its batch was cancelled. */
const CANCEL_MARK_TTL_SECONDS = 7 * 24 * 3600;

/** Set by CancelBatch: a chunk a worker already took off the queue is skipped, not drawn. */
export async function markBatchCancelled(redis: RedisConnection, prefix: string, tenantId: string, batchId: string): Promise<void> {
  await redis.set(batchCancelledKey(prefix, tenantId, batchId), "1", "EX", CANCEL_MARK_TTL_SECONDS);
}

/** Read by a worker before it draws a chunk. */
export async function isBatchCancelled(redis: RedisConnection, prefix: string, tenantId: string, batchId: string): Promise<boolean> {
  return (await redis.exists(batchCancelledKey(prefix, tenantId, batchId))) > 0;
}
