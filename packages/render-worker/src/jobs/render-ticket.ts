import { UnrecoverableError, type Job } from "bullmq";
import type { Logger, RenderResult, RenderTicketJob } from "@ticketgen/shared";
import type { WorkerMetrics } from "../metrics/worker-metrics.ts";
import type { TicketRenderer } from "../pipeline/ticket-renderer.ts";
import type { ResultReporter } from "../results/result-reporter.ts";
import { isTemplateError } from "../templates/index.ts";
import { failedOutcome, isLastAttempt, isRetried, storedOutcome } from "./outcomes.ts";
import type { PdfWriter } from "./pdf-writer.ts";

export interface RenderTicketDeps {
  renderer: TicketRenderer;
  writer: PdfWriter;
  results: ResultReporter;
  metrics: WorkerMetrics;
  logger: Logger;
}

/**
 * A single ticket: drawn, stored, and its outcome reported to the API. The outcome is also the
 * job's return value: should the report be lost, the API's sweeper applies it from there.
 */
export function renderTicket({ renderer, writer, results, metrics, logger }: RenderTicketDeps) {
  return async (job: Job<RenderTicketJob, RenderResult>): Promise<RenderResult> => {
    const ticket = job.data;
    const started = performance.now();
    let pdf: Buffer;
    const timer = metrics.pdfDuration.startTimer({ job: "ticket" });
    try {
      pdf = await renderer.pdf(await renderer.html(ticket), ticket);
      timer();
    } catch (error) {
      metrics.failed(error);
      const reason = (error as Error).message;
      // A template that cannot render this ticket will not render it on a retry either.
      const final = isTemplateError(error) || isLastAttempt(job);
      if (final) await results.report(failedOutcome(ticket, reason));
      logger.warn({ action: "render_failed", ticketId: ticket.ticketId, attempt: job.attemptsMade + 1, final, reason }, "render failed");
      throw isTemplateError(error) ? new UnrecoverableError(reason) : error;
    }
    const result = await storedOutcome(writer, ticket, pdf, Math.round(performance.now() - started), isRetried(job));
    await results.report(result);
    logger.info(
      { action: "ticket_rendered", ticketId: ticket.ticketId, pdfSize: pdf.length, renderMs: Math.round(performance.now() - started) },
      "ticket rendered",
    );
    return result;
  };
}
