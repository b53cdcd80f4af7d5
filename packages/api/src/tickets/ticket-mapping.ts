import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  chunkJobId,
  RENDER_CHUNK_JOB,
  RENDER_TICKET_JOB,
  SINGLE_TICKET_PRIORITY,
  type RenderTicketJob,
} from "@ticketgen/shared";
import { TicketSchema, TicketStatus, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { TicketRow } from "../db/schema.ts";
import type { RenderRequest } from "../queue/render-queue.ts";

const STATUS: Record<TicketRow["status"], TicketStatus> = {
  PENDING: TicketStatus.PENDING,
  GENERATED: TicketStatus.GENERATED,
  FAILED: TicketStatus.FAILED,
  REVOKED: TicketStatus.REVOKED,
};

const instant = (date: Date | null) => (date ? timestampFromDate(date) : undefined);

export function ticketToProto(row: TicketRow): Ticket {
  return create(TicketSchema, {
    id: row.id,
    ticketCode: row.ticketCode,
    eventId: row.eventId,
    guestId: row.guestId,
    ticketTypeId: row.ticketTypeId,
    status: STATUS[row.status],
    qrPayload: row.qrPayload,
    templateId: row.templateId,
    locale: row.locale,
    pdfSize: BigInt(row.pdfSize ?? 0),
    pdfSha256: row.pdfSha256 ?? "",
    failureReason: row.failureReason ?? "",
    createdAt: instant(row.createdAt),
    generatedAt: instant(row.generatedAt),
    validUntil: instant(row.validUntil),
    redeemedAt: instant(row.redeemedAt),
    revokedAt: instant(row.revokedAt),
    revocationReason: row.revocationReason ?? "",
    batchId: row.batchId ?? "",
  });
}

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
