import { chunkJobId, RENDER_CHUNK_JOB, RENDER_TICKET_JOB, SINGLE_TICKET_PRIORITY, type RenderTicketJob } from "@ticketgen/shared";
import type { TicketRow } from "../db/schema.ts";
import type { RenderRequest } from "./render-queue.ts";

/** The render job is rebuilt from the stored snapshot, so the sweeper can re-enqueue any ticket. */
export function renderJobFor(row: TicketRow): RenderTicketJob {
  return {
    tenantId: row.tenantId,
    ticketId: row.id,
    ticketCode: row.ticketCode,
    qrPayload: row.qrPayload,
    templateId: row.templateId,
    templateVersion: row.templateVersion,
    locale: row.locale,
    event: row.event,
    guest: row.guest,
    ticketType: row.ticketType,
    createdAt: row.createdAt.toISOString(),
  };
}

export function renderRequestFor(row: TicketRow): RenderRequest {
  return { name: RENDER_TICKET_JOB, data: renderJobFor(row), jobId: row.id, priority: SINGLE_TICKET_PRIORITY };
}

/** One chunk of a batch: its tickets in guest-list order, at the priority its place in its tenant's work gives it. */
export function chunkRequestFor(batchId: string, chunkIndex: number, rows: readonly TicketRow[], priority: number): RenderRequest {
  const tickets = rows.map(renderJobFor);
  return {
    name: RENDER_CHUNK_JOB,
    data: { tenantId: rows[0]!.tenantId, batchId, chunkIndex, tickets },
    jobId: chunkJobId(batchId, chunkIndex),
    priority,
  };
}
