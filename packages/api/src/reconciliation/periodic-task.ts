/**
 * Runs a piece of reconciliation work now and then, never two at once in one process: a run
 * asked for while one is in progress is skipped. A failed run is reported and the next interval
 * tries again. `stop()` waits for the run in progress.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly onError: (error: unknown) => void) {}

  every(intervalMs: number, work: () => Promise<unknown>): void {
    this.timer = setInterval(() => this.runNow(work), intervalMs);
  }

  runNow(work: () => Promise<unknown>): void {
    this.running ??= work()
      .then(
        () => undefined,
        (error: unknown) => this.onError(error),
      )
      .finally(() => {
        this.running = undefined;
      });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
