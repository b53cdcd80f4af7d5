import type { PdfDocumentInfo, RenderTicketJob } from "@ticketgen/shared";
import { ticketLanguage } from "../templates/ticket-view.ts";

/** The fields of a job a ticket's PDF metadata is made of. */
export type TicketDocumentJob = Pick<RenderTicketJob, "tenantId" | "ticketCode" | "locale" | "event" | "guest" | "ticketType">;

/**
 * A ticket PDF's metadata, whatever its template: the title a reader shows in its window
 * ("event — guest"), the organiser as author (the contract names a tenant by its id only),
 * and the ticket's language, the one its dates are written in.
 */
export function ticketDocumentInfo(job: TicketDocumentJob, now: Date): PdfDocumentInfo {
  const guest = [job.guest.firstName, job.guest.lastName].filter(Boolean).join(" ");
  const venue = job.event.location ? ` at ${job.event.location}` : "";
  return {
    title: `${job.event.name} — ${guest}`,
    author: job.tenantId,
    subject: `${job.ticketType.name} ticket ${job.ticketCode} for ${guest}: ${job.event.name}${venue}, ${job.event.startsAt}`,
    keywords: ["ticket", job.ticketCode, job.event.name, job.ticketType.name].filter(Boolean),
    lang: ticketLanguage(job.locale),
    creationDate: now,
  };
}
