import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { randomUUID } from "node:crypto";
import { CreateTicketRequestSchema, type CreateTicketRequest } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";

const DAY_MS = 86_400_000;

/** A valid CreateTicket request for a fresh event (so listings start empty). */
export function ticketRequest(
  overrides: { eventId?: string; guestId?: string; idempotencyKey?: string; startsAt?: Date; endsAt?: Date } = {},
): CreateTicketRequest {
  const startsAt = overrides.startsAt ?? new Date(Date.now() + 30 * DAY_MS);
  return create(CreateTicketRequestSchema, {
    event: {
      id: overrides.eventId ?? `evt-${randomUUID()}`,
      name: "Autumn Gala",
      startsAt: timestampFromDate(startsAt),
      endsAt: overrides.endsAt ? timestampFromDate(overrides.endsAt) : undefined,
      location: "Salle Pleyel, Paris",
      timezone: "Europe/Paris",
    },
    guest: { id: overrides.guestId ?? `guest-${randomUUID()}`, firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" },
    ticketType: { id: "vip", name: "VIP" },
    templateId: "",
    locale: "fr",
    idempotencyKey: overrides.idempotencyKey ?? "",
  });
}
