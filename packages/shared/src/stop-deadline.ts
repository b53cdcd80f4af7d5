import { withTimeout } from "./with-timeout.ts";

/**
 * What a stop may take beyond SHUTDOWN_TIMEOUT_MS: closing queues, servers, connections and
 * Chromium once the drain is over or given up on. Deploy grace periods allow for both.
 */
export const STOP_MARGIN_MS = 2000;

/**
 * The moment a stop must be over by: SHUTDOWN_TIMEOUT_MS for the drain, then STOP_MARGIN_MS for
 * closing. A closing step still waiting then (on a Redis or PostgreSQL that does not answer, a
 * hung Chromium) is abandoned; the process ends right after, which drops what it held.
 */
export class StopDeadline {
  private readonly endsAt: number;

  constructor(shutdownTimeoutMs: number) {
    this.endsAt = performance.now() + shutdownTimeoutMs + STOP_MARGIN_MS;
  }

  /** `step`'s outcome, or undefined once the deadline has passed (a rejection before then is `step`'s). */
  within<T>(step: Promise<T>): Promise<T | undefined> {
    return withTimeout(step, Math.max(0, this.endsAt - performance.now()), () => undefined);
  }
}
