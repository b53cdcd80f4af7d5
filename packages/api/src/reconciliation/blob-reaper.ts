import { batchChunkPdfKey, UUID_PATTERN, type BlobStore, type Logger, type StoredBlob } from "@ticketgen/shared";
import type { BlobReferences } from "./blob-references.ts";
import { PeriodicTask } from "./periodic-task.ts";

const DAY_MS = 86_400_000;
/** Tickets released, or listed blobs checked, per database round trip. */
const PAGE = 500;

/** "<kind>/<tenant>/<id>/<file>" (a tenant id may contain "/"); undefined for a key not of ours. */
function parseKey(key: string): { tenantId: string; id: string } | undefined {
  const segments = key.split("/");
  const id = segments.at(-2);
  if (segments.length < 4 || !id || !UUID_PATTERN.test(id)) return undefined;
  return { tenantId: segments.slice(1, -2).join("/"), id };
}

export interface BlobReaperOptions {
  intervalMs: number;
  /** Unset: PDFs are kept however long ago their tickets expired. */
  retentionDays: number | undefined;
  orphanMinAgeMs: number;
}

/**
 * Deletes the blobs nothing needs any more. A ticket's PDF goes `retentionDays` after the ticket
 * expired (with its batch's documents): its row forgets the key first, so a download says why it
 * is gone, and a blob left by a failed delete is an orphan for the next pass. Orphans are blobs
 * no row names (a duplicate render whose result lost to the first, a put that never finished);
 * only those older than `orphanMinAgeMs`, counted back from the oldest result not recorded yet,
 * are deleted, so a render whose result is still on its way keeps its PDF.
 */
export class BlobReaper {
  private readonly task: PeriodicTask;

  constructor(
    private readonly deps: {
      references: BlobReferences;
      blobs: BlobStore;
      /** When the oldest render result still waiting to be recorded was reported. */
      oldestUnrecordedResult: () => Promise<Date | undefined>;
    },
    private readonly options: BlobReaperOptions,
    private readonly logger: Logger,
  ) {
    this.task = new PeriodicTask((error) => this.logger.warn({ err: error }, "blob reaping failed; retried at the next interval"));
  }

  start(): void {
    this.task.every(this.options.intervalMs, () => this.reap());
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  async reap(now: Date = new Date()): Promise<{ expired: number; orphans: number }> {
    const expired = await this.expire(now);
    const orphans = await this.deleteOrphans(now);
    if (expired > 0 || orphans > 0) this.logger.info({ action: "blobs_reaped", expired, orphans }, "deleted PDFs nothing needs any more");
    return { expired, orphans };
  }

  /** Deletes the PDFs of tickets expired more than the retention period ago; returns how many. */
  async expire(now: Date): Promise<number> {
    if (this.options.retentionDays === undefined) return 0;
    const { references, blobs } = this.deps;
    const cutoff = new Date(now.getTime() - this.options.retentionDays * DAY_MS);
    let expired = 0;
    const batchesDone = new Set<string>();
    for (;;) {
      const released = await references.releaseExpired(cutoff, PAGE);
      await Promise.all(released.map((pdf) => blobs.delete(pdf.pdfKey)));
      const batchIds = released.flatMap((pdf) => (pdf.batchId && !batchesDone.has(pdf.batchId) ? [pdf.batchId] : []));
      for (const batch of await references.findBatches(batchIds)) {
        batchesDone.add(batch.id);
        const chunks = Math.ceil(batch.totalCount / batch.chunkSize);
        await Promise.all(Array.from({ length: chunks }, (_, i) => blobs.delete(batchChunkPdfKey(batch.tenantId, batch.id, i))));
      }
      expired += released.length;
      if (released.length < PAGE) return expired;
    }
  }

  /** Deletes old blobs that no ticket or batch names; returns how many. */
  async deleteOrphans(now: Date): Promise<number> {
    const oldestResult = await this.deps.oldestUnrecordedResult();
    const from = Math.min(now.getTime(), oldestResult?.getTime() ?? Infinity);
    const cutoff = from - this.options.orphanMinAgeMs;
    let deleted = 0;
    for (const [prefix, inUse] of [
      ["tickets/", (page: StoredBlob[]) => this.ticketBlobsInUse(page)],
      ["batches/", (page: StoredBlob[]) => this.batchBlobsInUse(page)],
    ] as const) {
      let page: StoredBlob[] = [];
      const sweep = async () => {
        const kept = await inUse(page);
        const orphans = page.filter((blob) => !kept.has(blob.key));
        await Promise.all(orphans.map((blob) => this.deps.blobs.delete(blob.key)));
        deleted += orphans.length;
        page = [];
      };
      for await (const blob of this.deps.blobs.list(prefix)) {
        if (blob.lastModified.getTime() >= cutoff || !parseKey(blob.key)) continue;
        page.push(blob);
        if (page.length === PAGE) await sweep();
      }
      if (page.length > 0) await sweep();
    }
    return deleted;
  }

  private async ticketBlobsInUse(page: StoredBlob[]): Promise<Set<string>> {
    return this.deps.references.ticketKeysInUse(page.map((blob) => ({ ticketId: parseKey(blob.key)!.id, key: blob.key })));
  }

  private async batchBlobsInUse(page: StoredBlob[]): Promise<Set<string>> {
    const live = await this.deps.references.batchesWithPdfs(
      page.map((blob) => {
        const { tenantId, id } = parseKey(blob.key)!;
        return { tenantId, batchId: id };
      }),
    );
    return new Set(
      page
        .filter((blob) => {
          const { tenantId, id } = parseKey(blob.key)!;
          return live.has(`${tenantId}/${id}`);
        })
        .map((blob) => blob.key),
    );
  }
}
