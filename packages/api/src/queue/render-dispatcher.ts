import type { Logger } from "@ticketgen/shared";
import type { AssetPublisher } from "../assets/asset-publisher.ts";
import type { TicketRow } from "../db/schema.ts";
import type { TemplatePublisher } from "../templates/template-publisher.ts";
import type { TemplateRepository } from "../templates/template-repository.ts";
import type { RenderQueue } from "./render-queue.ts";
import { chunkRequestFor, renderRequestFor } from "./render-requests.ts";

/**
 * Hands tickets to the render workers: publishes the tenant template versions they use and makes
 * sure their tenants' assets are published, then enqueues their jobs. Never throws for Redis trouble: tickets stay PENDING for the sweeper.
 */
export class RenderDispatcher {
  constructor(
    private readonly renderQueue: RenderQueue,
    private readonly templates: TemplateRepository,
    private readonly publisher: TemplatePublisher,
    private readonly assets: AssetPublisher,
    private readonly logger: Logger,
  ) {}

  /** Single tickets, one job each. */
  async dispatch(rows: readonly TicketRow[]): Promise<boolean> {
    return (await this.publishTemplates(rows)) && (await this.publishAssets(rows)) && this.renderQueue.enqueue(rows.map(renderRequestFor));
  }

  /** Batch tickets (of one batch, in guest-list order), one job per chunk, each at its priority. */
  async dispatchChunks(
    batchId: string,
    chunks: ReadonlyArray<{ index: number; rows: readonly TicketRow[]; priority: number }>,
  ): Promise<boolean> {
    const rows = chunks.flatMap((chunk) => chunk.rows);
    return (
      (await this.publishTemplates(rows)) &&
      (await this.publishAssets(rows)) &&
      this.renderQueue.enqueue(
        chunks.filter((chunk) => chunk.rows.length > 0).map((chunk) => chunkRequestFor(batchId, chunk.index, chunk.rows, chunk.priority)),
      )
    );
  }

  private async publishTemplates(rows: readonly TicketRow[]): Promise<boolean> {
    try {
      const versions = new Map(
        rows.filter((r) => r.templateId).map((r) => [`${r.tenantId}\u0000${r.templateId}\u0000${r.templateVersion}`, r]),
      );
      for (const row of versions.values()) {
        // Published already: no database read on the hot path.
        if (this.publisher.has(row.tenantId, row.templateId, row.templateVersion)) continue;
        const template = await this.templates.find(row.tenantId, row.templateId, row.templateVersion);
        if (template) await this.publisher.publish(template);
      }
    } catch (error) {
      this.logger.warn({ action: "template_publish_failed", err: error }, "could not publish templates; the sweeper will retry");
      return false;
    }
    return true;
  }

  /** Once per tenant and process (again after Redis lost them): a map lookup on the hot path. */
  private async publishAssets(rows: readonly TicketRow[]): Promise<boolean> {
    try {
      for (const tenantId of new Set(rows.map((row) => row.tenantId))) await this.assets.ensure(tenantId);
    } catch (error) {
      this.logger.warn({ action: "asset_publish_failed", err: error }, "could not publish assets; the sweeper will retry");
      return false;
    }
    return true;
  }
}
