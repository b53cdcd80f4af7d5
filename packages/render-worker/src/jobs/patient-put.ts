import { setTimeout } from "node:timers/promises";
import type { BlobStore, Logger } from "@ticketgen/shared";

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

/**
 * Stores a drawn PDF, waiting out a blob store that refuses it. A storage outage is not the
 * ticket's fault: failing the job would spend its render attempts in seconds and fail the ticket
 * for good. The job keeps its slot (and BullMQ renews its lock) while it waits, so the worker
 * takes no new work meanwhile; a worker stopped while waiting hands the job back.
 */
export async function putPatiently(blobs: BlobStore, key: string, data: Uint8Array, logger: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await blobs.put(key, data, "application/pdf");
      if (attempt > 1) logger.info({ action: "blob_store_back", key, attempts: attempt }, "the blob store took the PDF");
      return;
    } catch (error) {
      const delayMs = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (attempt - 1));
      logger.warn({ action: "blob_store_refused", key, attempt, delayMs, err: error }, "the blob store refused a PDF; retrying");
      await setTimeout(delayMs);
    }
  }
}
