import { createHash } from "node:crypto";
import type { Job } from "bullmq";
import { ticketPdfKey, type BlobStore, type Logger, type RenderResult, type RenderTicketJob } from "@ticketgen/shared";
import { putPatiently } from "./patient-put.ts";

export function failedOutcome(ticket: RenderTicketJob, reason: string): RenderResult {
  return { outcome: "failed", tenantId: ticket.tenantId, ticketId: ticket.ticketId, reason, failedAt: new Date().toISOString() };
}

/** Stores a ticket's PDF under its content hash and describes it for the API. */
export async function storedOutcome(
  blobs: BlobStore,
  ticket: RenderTicketJob,
  pdf: Uint8Array,
  renderMs: number,
  logger: Logger,
): Promise<RenderResult> {
  const sha256 = createHash("sha256").update(pdf).digest("hex");
  const pdfKey = ticketPdfKey(ticket.tenantId, ticket.ticketId, sha256);
  await putPatiently(blobs, pdfKey, pdf, logger);
  return {
    outcome: "generated",
    tenantId: ticket.tenantId,
    ticketId: ticket.ticketId,
    pdfKey,
    pdfSize: pdf.length,
    pdfSha256: sha256,
    generatedAt: new Date().toISOString(),
    renderMs,
  };
}

/** A failure on the last attempt is final: BullMQ will not retry, so the worker reports it. */
export const isLastAttempt = (job: Job) => job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
