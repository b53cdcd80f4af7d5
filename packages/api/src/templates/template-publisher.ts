import { templateSourceKey, type RedisConnection } from "@ticketgen/shared";
import type { TemplateRow } from "../db/schema.ts";

/**
 * Puts template sources where workers can read them without database access: one immutable
 * Redis key per version. Each API process publishes a version at most once.
 */
export class TemplatePublisher {
  private readonly published = new Set<string>();

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  async publish(row: TemplateRow): Promise<void> {
    const key = templateSourceKey(this.prefix, row.tenantId, row.id, row.version);
    if (this.published.has(key)) return;
    await this.redis.set(key, row.content);
    this.published.add(key);
  }
}
