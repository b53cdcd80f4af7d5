import { EventEmitter } from "node:events";
import type { Logger } from "@ticketgen/shared";

export type Probe = () => Promise<void>;

/**
 * Serving while every dependency answered its last probe and the server is not draining.
 * Probes run on an interval, so health calls never wait on a dead dependency.
 */
export class HealthMonitor extends EventEmitter<{ change: [serving: boolean] }> {
  private healthy = false;
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
  }

  get serving(): boolean {
    return this.healthy && !this.draining;
  }

  async start(): Promise<void> {
    await this.probe();
    this.timer = setInterval(() => void this.probe(), this.intervalMs);
    this.timer.unref();
  }

  drain(): void {
    this.update(() => {
      this.draining = true;
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async probe(): Promise<void> {
    const failures: string[] = [];
    await Promise.all(
      Object.entries(this.probes).map(async ([name, probe]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            probe(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
            }),
          ]);
        } catch (error) {
          failures.push(`${name}: ${(error as Error).message}`);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    if (failures.length > 0 && this.healthy) this.logger.warn({ action: "unhealthy", failures }, "dependency check failed");
    if (failures.length === 0 && !this.healthy) this.logger.info({ action: "healthy" }, "all dependencies answer");
    this.update(() => {
      this.healthy = failures.length === 0;
    });
  }

  private update(change: () => void): void {
    const before = this.serving;
    change();
    if (this.serving !== before) this.emit("change", this.serving);
  }
}
