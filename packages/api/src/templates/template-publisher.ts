import { templateSourceKey, type RedisConnection } from "@ticketgen/shared";
import type { TemplateRow } from "../db/schema.ts";
import type { RedisLossWatch } from "../queue/redis-loss-watch.ts";

/**
 * Puts template sources where workers can read them without database access: one immutable
 * Redis key per version. Each API process publishes a version once, and again after Redis may
 * have lost it (RedisLossWatch).
 */
export class TemplatePublisher {
  private readonly published = new Set<string>();

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly lossWatch: RedisLossWatch,
  ) {
    lossWatch.onLoss(() => this.published.clear());
  }

  /** Whether this process has published the version since Redis last may have lost it. */
  has(tenantId: string, templateId: string, version: number): boolean {
    return this.published.has(templateSourceKey(this.prefix, tenantId, templateId, version));
  }

  async publish(row: TemplateRow): Promise<void> {
    const key = templateSourceKey(this.prefix, row.tenantId, row.id, row.version);
    if (this.published.has(key)) return;
    const multi = this.redis.multi().set(key, row.content);
    this.lossWatch.markIn(multi);
    const results = await multi.exec();
    const failure = results?.find(([error]) => error)?.[0];
    if (!results || failure) throw failure ?? new Error("Redis discarded the template's publication");
    this.published.add(key);
  }
}
