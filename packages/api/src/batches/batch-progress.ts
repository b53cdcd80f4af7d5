import { batchProgressChannel, type Logger, type RedisConnection } from "@ticketgen/shared";

type Listener = () => void;

/**
 * Fans batch progress out to every API replica through Redis pub/sub: whichever replica
 * applies a chunk's results announces it, and every replica wakes its WatchBatch streams of
 * that batch. Messages only say "changed"; watchers read the counts from PostgreSQL.
 * One subscriber connection per process; a channel is subscribed while someone watches it.
 */
export class BatchProgress {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly publisher: RedisConnection,
    private readonly subscriber: RedisConnection,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    subscriber.on("message", (channel: string) => {
      for (const listener of this.listeners.get(channel) ?? []) listener();
    });
  }

  async announce(tenantId: string, batchId: string): Promise<void> {
    await this.publisher.publish(batchProgressChannel(this.prefix, tenantId, batchId), "changed").catch((error: unknown) => {
      // Watchers also re-read on a timer, so a lost announcement only delays them.
      this.logger.warn({ err: error, batchId }, "could not announce batch progress");
    });
  }

  /** Calls `listener` on every announcement until the returned function is called. */
  async listen(tenantId: string, batchId: string, listener: Listener): Promise<() => Promise<void>> {
    const channel = batchProgressChannel(this.prefix, tenantId, batchId);
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.subscriber.subscribe(channel);
    }
    set.add(listener);
    return async () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(channel) === set) {
        this.listeners.delete(channel);
        await this.subscriber.unsubscribe(channel).catch(() => {});
      }
    };
  }

  get watchedBatches(): number {
    return this.listeners.size;
  }
}
