import type { TicketRow } from "../db/schema.ts";
import type { CardTicket } from "./cards.ts";

/** What a badge or label shows of a ticket: the snapshot it was issued with (a stored row, or a preview's sample job). */
export function cardTicketOf(row: Pick<TicketRow, "guest" | "ticketType" | "event" | "ticketCode" | "qrPayload">): CardTicket {
  return {
    guestName: `${row.guest.firstName} ${row.guest.lastName}`.trim(),
    ticketType: row.ticketType.name,
    eventName: row.event.name,
    ticketCode: row.ticketCode,
    qrPayload: row.qrPayload,
  };
}
