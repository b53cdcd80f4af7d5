/**
 * A wake-up that is never lost: one arriving while nobody sleeps (the watcher is reading) is
 * remembered, and the next sleep returns at once; several before that sleep count as one.
 * Hand-written: no maintained library offers a remembered, coalescing signal with a timeout.
 */
export class WakeSignal {
  private pending = false;
  private end: (() => void) | undefined;

  constructor(private readonly abort: AbortSignal) {}

  wake(): void {
    this.pending = true;
    this.end?.();
  }

  /** Resolves after `ms`, on a wake-up (one since the last sleep included), or when the signal aborts. */
  sleep(ms: number): Promise<void> {
    if (this.pending || this.abort.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.abort.removeEventListener("abort", done);
        this.end = undefined;
        // Consumed here: the read that follows sees everything announced so far.
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.abort.addEventListener("abort", done, { once: true });
      this.end = done;
    });
  }
}
