import { createHash } from "node:crypto";
import type { Job } from "bullmq";
import { ticketPdfKey, type RenderResult, type RenderTicketJob } from "@ticketgen/shared";
import type { PdfWriter } from "./pdf-writer.ts";

export function failedOutcome(ticket: RenderTicketJob, reason: string): RenderResult {
  return { outcome: "failed", tenantId: ticket.tenantId, ticketId: ticket.ticketId, reason, failedAt: new Date().toISOString() };
}

/**
 * Stores a ticket's PDF under its content hash and describes it for the API. A retried render
 * also names the PDFs earlier attempts stored (their outcomes may never arrive), so that the API
 * deletes the ones that lose.
 */
export async function storedOutcome(
  writer: PdfWriter,
  ticket: RenderTicketJob,
  pdf: Uint8Array,
  renderMs: number,
  retried: boolean,
): Promise<RenderResult> {
  const sha256 = createHash("sha256").update(pdf).digest("hex");
  const pdfKey = ticketPdfKey(ticket.tenantId, ticket.ticketId, sha256);
  const earlier = retried ? (await writer.storedFor(ticket.tenantId, ticket.ticketId)).filter((key) => key !== pdfKey) : [];
  await writer.put(pdfKey, pdf);
  return {
    outcome: "generated",
    tenantId: ticket.tenantId,
    ticketId: ticket.ticketId,
    pdfKey,
    pdfSize: pdf.length,
    pdfSha256: sha256,
    generatedAt: new Date().toISOString(),
    renderMs,
    ...(earlier.length > 0 && { earlierPdfKeys: earlier }),
  };
}

/** A failure on the last attempt is final: BullMQ will not retry, so the worker reports it. */
export const isLastAttempt = (job: Job) => job.attemptsMade + 1 >= (job.opts.attempts ?? 1);

/**
 * An earlier attempt at this job started (then failed, stalled or was handed back): it may have
 * stored PDFs whose outcome never reached the API.
 */
export const isRetried = (job: Job) => job.attemptsStarted > 1;
