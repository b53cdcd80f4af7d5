import { UnrecoverableError, type Job } from "bullmq";
import type { PreviewTemplateJob, PreviewTemplateResult } from "@ticketgen/shared";
import type { TicketRenderer } from "../pipeline/ticket-renderer.ts";
import { isTemplateError } from "../templates/index.ts";

/** A template preview: a sample ticket drawn with a stored version or inline source, answered as the job's return value. */
export function previewTemplate({ renderer }: { renderer: TicketRenderer }) {
  return async (job: Job<PreviewTemplateJob, PreviewTemplateResult>): Promise<PreviewTemplateResult> => {
    const { sample, content } = job.data;
    try {
      const html = await renderer.html(sample, content || undefined);
      return { pdfBase64: (await renderer.pdf(html, sample)).toString("base64") };
    } catch (error) {
      if (isTemplateError(error)) throw new UnrecoverableError((error as Error).message);
      throw error;
    }
  };
}
