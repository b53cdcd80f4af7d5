import type { BackoffStrategy } from "bullmq";

// 2^30 times any delay is past every cap already; stopping there keeps the product finite.
const MAX_EXPONENT = 30;

/**
 * BullMQ's built-in exponential backoff has no ceiling: with unbounded attempts its delay would
 * grow past any outage. This one doubles from `delayMs` and stays at `maxDelayMs`, so a result
 * is applied at most `maxDelayMs` after PostgreSQL is back, however long it was away.
 */
export function cappedExponentialBackoff({ delayMs, maxDelayMs }: { delayMs: number; maxDelayMs: number }): BackoffStrategy {
  return (attemptsMade) => Math.min(maxDelayMs, delayMs * 2 ** Math.min(attemptsMade - 1, MAX_EXPONENT));
}
