import { describe, expect, it } from "vitest";
import { create, equals, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { TicketSchema, TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { ticketToProto } from "../src/tickets/ticket-mapping.ts";
import type { TicketFacts } from "../src/tickets/ticket-repository.ts";

const FULL: TicketFacts = {
  id: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
  tenantId: "acme",
  ticketCode: "TKT-MB0L2X9Q-K7P2ZD-4F1A9C3E",
  eventId: "gala",
  guestId: "g-1",
  ticketTypeId: "vip",
  batchId: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c",
  batchPosition: 7,
  status: "REVOKED",
  qrPayload: "TG1.KID.PAYLOAD",
  templateId: "default",
  templateVersion: 3,
  locale: "fr",
  idempotencyKey: "key-1",
  requestHash: "ab".repeat(32),
  pdfSize: 48_213,
  pdfSha256: "cd".repeat(32),
  pdfKey: "acme/tickets/x.pdf",
  failureReason: "template failed once",
  createdAt: new Date("2026-03-01T10:00:00.123Z"),
  generatedAt: new Date("2026-03-01T10:00:01.999Z"),
  validUntil: new Date("2026-03-02T23:59:59.000Z"),
  redeemedAt: new Date("2026-03-02T20:15:00.001Z"),
  // Before 1970: the seconds round down and the nanos stay positive, as timestampFromDate has them.
  revokedAt: new Date(-1_500),
  revocationReason: "refunded",
};

/** What create() makes of the same row: the reference the literal must equal. */
function created(row: TicketFacts) {
  const instant = (date: Date | null) => (date ? timestampFromDate(date) : undefined);
  return create(TicketSchema, {
    id: row.id,
    ticketCode: row.ticketCode,
    eventId: row.eventId,
    guestId: row.guestId,
    ticketTypeId: row.ticketTypeId,
    status: TicketStatus[row.status],
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

describe("ticketToProto", () => {
  it("sets every field of the Ticket message, the message ones included", () => {
    const ticket = ticketToProto(FULL);
    for (const field of TicketSchema.fields) expect(ticket[field.localName as keyof typeof ticket], field.name).not.toBeUndefined();
  });

  it("is the message create() makes, byte for byte, with every field set and with the optional ones empty", () => {
    const empty: TicketFacts = {
      ...FULL,
      status: "PENDING",
      batchId: null,
      pdfSize: null,
      pdfSha256: null,
      failureReason: null,
      generatedAt: null,
      redeemedAt: null,
      revokedAt: null,
      revocationReason: null,
    };
    for (const row of [FULL, empty]) {
      const ticket = ticketToProto(row);
      expect(equals(TicketSchema, ticket, created(row))).toBe(true);
      expect(Buffer.from(toBinary(TicketSchema, ticket)).equals(Buffer.from(toBinary(TicketSchema, created(row))))).toBe(true);
    }
    expect(ticketToProto(FULL).revokedAt).toMatchObject({ seconds: -2n, nanos: 500_000_000 });
    expect(ticketToProto(empty).redeemedAt).toBeUndefined();
  });
});
