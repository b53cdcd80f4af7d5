import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CreateBatchRequestSchema, type CreateBatchRequest } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { CreateTicketRequestSchema, type CreateTicketRequest } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";

const event = (id: string) => ({
  id,
  name: "Reliability Gala",
  startsAt: timestampFromDate(new Date(Date.now() + 30 * 86_400_000)),
  location: "Salle Pleyel, Paris",
  timezone: "Europe/Paris",
});

export function ticketRequest(idempotencyKey: string, eventId: string): CreateTicketRequest {
  return create(CreateTicketRequestSchema, {
    event: event(eventId),
    guest: { id: `guest-${idempotencyKey}`, firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" },
    ticketType: { id: "vip", name: "VIP" },
    locale: "en",
    idempotencyKey,
  });
}

export const batchGuestId = (i: number) => `batch-guest-${i}`;

export function batchRequest(guests: number, idempotencyKey: string, eventId: string): CreateBatchRequest {
  return create(CreateBatchRequestSchema, {
    event: event(eventId),
    ticketType: { id: "standard", name: "Standard" },
    locale: "en",
    idempotencyKey,
    guests: Array.from({ length: guests }, (_, i) => ({
      id: batchGuestId(i),
      firstName: `Guest${i}`,
      lastName: `Number ${i}`,
      email: `guest${i}@example.com`,
    })),
  });
}
