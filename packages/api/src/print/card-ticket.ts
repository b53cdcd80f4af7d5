import type { TicketRow } from "../db/schema.ts";
import type { CardTicket } from "./cards.ts";

/** What a badge or label shows of a stored ticket: the snapshot it was issued with. */
export function cardTicketOf(row: TicketRow): CardTicket {
  return {
    guestName: `${row.guest.firstName} ${row.guest.lastName}`.trim(),
    ticketType: row.ticketType.name,
    eventName: row.event.name,
    ticketCode: row.ticketCode,
    qrPayload: row.qrPayload,
  };
}
