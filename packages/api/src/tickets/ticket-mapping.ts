import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { TicketSchema, TicketStatus, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { TicketRow } from "../db/schema.ts";
import type { TicketFacts } from "./ticket-repository.ts";

const STATUS: Record<TicketRow["status"], TicketStatus> = {
  PENDING: TicketStatus.PENDING,
  GENERATED: TicketStatus.GENERATED,
  FAILED: TicketStatus.FAILED,
  REVOKED: TicketStatus.REVOKED,
};

// timestampFromDate's fields, without create(), which walks the descriptor.
function instant(date: Date | null): Timestamp | undefined {
  if (!date) return undefined;
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

/**
 * Every answer that carries a ticket builds one. A literal, not create(TicketSchema, …): create
 * walks the descriptor field by field (1.7 µs a ticket, 2 % of a ValidateTicket's API CPU;
 * bench/ticket-encoding.ts). The Ticket type makes every scalar field required here, and
 * ticket-mapping.test checks every field, message ones included, against create() of the row.
 */
export function ticketToProto(row: TicketFacts): Ticket {
  return {
    $typeName: TicketSchema.typeName,
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
  };
}
