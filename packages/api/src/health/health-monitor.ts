import { EventEmitter } from "node:events";
import { withTimeout, type Logger } from "@ticketgen/shared";

export type Probe = () => Promise<void>;

/**
 * Which dependencies answered their last probe, and whether the server is draining. Probes run
 * on an interval, so health calls never wait on a dead dependency. `change` fires whenever a
 * dependency comes or goes, or the drain starts.
 */
export class HealthMonitor extends EventEmitter<{ change: [] }> {
  /** Down until the first probe says otherwise. */
  private readonly down: Set<string>;
  private draining = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly probes: Record<string, Probe>,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {
    super();
    this.setMaxListeners(0);
    this.down = new Set(Object.keys(probes));
  }

  /** Every dependency answers and the server is not draining. */
  get serving(): boolean {
    return this.servingWith(Object.keys(this.probes));
  }

  /** These dependencies answer and the server is not draining. */
  servingWith(dependencies: readonly string[]): boolean {
    return !this.draining && dependencies.every((name) => !this.down.has(name));
  }

  async start(): Promise<void> {
    await this.probe();
    this.timer = setInterval(() => void this.probe(), this.intervalMs);
    this.timer.unref();
  }

  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.emit("change");
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async probe(): Promise<void> {
    const failures: string[] = [];
    const failed = new Set<string>();
    await Promise.all(
      Object.entries(this.probes).map(async ([name, probe]) => {
        try {
          await withTimeout(probe(), this.timeoutMs, () => {
            throw new Error(`no answer within ${this.timeoutMs} ms`);
          });
        } catch (error) {
          failed.add(name);
          failures.push(`${name}: ${(error as Error).message}`);
        }
      }),
    );
    const newlyDown = [...failed].filter((name) => !this.down.has(name));
    const back = [...this.down].filter((name) => !failed.has(name));
    if (newlyDown.length > 0) this.logger.warn({ action: "unhealthy", failures }, "dependency check failed");
    if (back.length > 0 && failed.size === 0) this.logger.info({ action: "healthy" }, "all dependencies answer");
    if (newlyDown.length === 0 && back.length === 0) return;
    this.down.clear();
    for (const name of failed) this.down.add(name);
    this.emit("change");
  }
}
