import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { TicketSchema, TicketStatus, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { TicketRow } from "../db/schema.ts";
import type { TicketFacts } from "./ticket-repository.ts";

const STATUS: Record<TicketRow["status"], TicketStatus> = {
  PENDING: TicketStatus.PENDING,
  GENERATED: TicketStatus.GENERATED,
  FAILED: TicketStatus.FAILED,
  REVOKED: TicketStatus.REVOKED,
};

const instant = (date: Date | null) => (date ? timestampFromDate(date) : undefined);

export function ticketToProto(row: TicketFacts): Ticket {
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
