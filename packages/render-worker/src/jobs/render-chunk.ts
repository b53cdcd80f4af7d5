import type { Job } from "bullmq";
import {
  batchChunkPdfKey,
  type ChunkResults,
  type Logger,
  type RenderChunkJob,
  type RenderResult,
  type RenderTicketJob,
} from "@ticketgen/shared";
import type { WorkerMetrics } from "../metrics/worker-metrics.ts";
import type { TicketRenderer } from "../pipeline/ticket-renderer.ts";
import type { ResultReporter } from "../results/result-reporter.ts";
import { failedOutcome, isLastAttempt, isRetried, storedOutcome } from "./outcomes.ts";
import type { PdfWriter } from "./pdf-writer.ts";

export interface RenderChunkDeps {
  renderer: TicketRenderer;
  writer: PdfWriter;
  results: ResultReporter;
  metrics: WorkerMetrics;
  logger: Logger;
  isBatchCancelled(tenantId: string, batchId: string): Promise<boolean>;
}

/**
 * A batch chunk: one Chromium document for all its tickets; a ticket the template cannot draw
 * fails alone. Its outcomes are also the job's return value, for the API's sweeper should the
 * report be lost; a chunk skipped for a cancelled batch returns none.
 */
export function renderChunk({ renderer, writer, results, metrics, logger, isBatchCancelled }: RenderChunkDeps) {
  return async (job: Job<RenderChunkJob, ChunkResults | undefined>): Promise<ChunkResults | undefined> => {
    const { tenantId, batchId, chunkIndex, tickets } = job.data;
    if (await isBatchCancelled(tenantId, batchId)) {
      logger.info({ action: "chunk_skipped", batchId, chunkIndex }, "batch cancelled: chunk skipped");
      return undefined;
    }
    const started = performance.now();
    const outcomes: RenderResult[] = [];
    try {
      const drawable: Array<{ ticket: RenderTicketJob; html: string }> = [];
      for (const [i, outcome] of (await renderer.htmls(tickets)).entries()) {
        const ticket = tickets[i]!;
        if (typeof outcome === "string") {
          drawable.push({ ticket, html: outcome });
          continue;
        }
        metrics.failed(outcome);
        outcomes.push(failedOutcome(ticket, outcome.message));
      }
      if (drawable.length > 0) {
        const timer = metrics.pdfDuration.startTimer({ job: "chunk" });
        const { document, tickets: pdfs } = await renderer.pdfs(
          drawable.map((d) => d.html),
          drawable.map((d) => d.ticket),
        );
        timer();
        const renderMs = Math.round((performance.now() - started) / drawable.length);
        outcomes.push(
          ...(await Promise.all(
            drawable.map(async (d, i) => {
              const pdf = pdfs[i]!;
              if (pdf instanceof Uint8Array) return storedOutcome(writer, d.ticket, pdf, renderMs, isRetried(job));
              metrics.failed(pdf);
              return failedOutcome(d.ticket, pdf.message);
            }),
          )),
        );
        if (document) await writer.put(batchChunkPdfKey(tenantId, batchId, chunkIndex), document);
      }
    } catch (error) {
      metrics.failed(error);
      const reason = (error as Error).message;
      logger.warn({ action: "chunk_failed", batchId, chunkIndex, attempt: job.attemptsMade + 1, reason }, "chunk render failed");
      if (isLastAttempt(job))
        await results.reportChunk({ tenantId, batchId, chunkIndex, results: tickets.map((t) => failedOutcome(t, reason)) });
      throw error;
    }
    const chunk = { tenantId, batchId, chunkIndex, results: outcomes };
    await results.reportChunk(chunk);
    logger.info(
      {
        action: "chunk_rendered",
        batchId,
        chunkIndex,
        tickets: tickets.length,
        failed: outcomes.filter((o) => o.outcome === "failed").length,
        ms: Math.round(performance.now() - started),
      },
      "chunk rendered",
    );
    return chunk;
  };
}
