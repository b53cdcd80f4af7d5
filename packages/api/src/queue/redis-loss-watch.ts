import type { Logger, RedisConnection } from "@ticketgen/shared";
import { PeriodicTask } from "../reconciliation/periodic-task.ts";

/**
 * Tells the API's publishers (template sources, assets) when Redis may have lost what they put
 * there for the render workers. Redis keeps nothing on disk: a restarted Redis comes back empty
 * (the connection is "ready" again), and a flushed one loses every key, which a probe sees every
 * `intervalMs` by the marker key the publishers set with what they publish being gone. Each
 * publisher then publishes again before the next render needs it.
 */
export class RedisLossWatch {
  /** API-only: workers never read it. */
  readonly markerKey: string;
  private readonly listeners: Array<() => void> = [];
  private readonly probe: PeriodicTask;
  private marked = false;

  constructor(
    private readonly redis: RedisConnection,
    prefix: string,
    logger: Logger,
  ) {
    this.markerKey = `${prefix}:published`;
    redis.on("ready", () => this.lost());
    this.probe = new PeriodicTask((error) => logger.debug({ err: error }, "published-marker probe failed"));
  }

  /** `listener` forgets what its publisher has published. */
  onLoss(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Adds the marker to a publisher's write; from then on the probe watches for it to go. */
  markIn(multi: ReturnType<RedisConnection["multi"]>): void {
    multi.set(this.markerKey, "1");
    this.marked = true;
  }

  start(intervalMs: number): void {
    this.probe.every(intervalMs, async () => {
      if (this.marked && (await this.redis.exists(this.markerKey)) === 0) this.lost();
    });
  }

  stop(): Promise<void> {
    return this.probe.stop();
  }

  private lost(): void {
    this.marked = false;
    for (const listener of this.listeners) listener();
  }
}
