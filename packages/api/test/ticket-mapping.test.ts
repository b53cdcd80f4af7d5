import { describe, expect, it } from "vitest";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
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
  revokedAt: new Date(-1_500),
  revocationReason: "refunded",
};

describe("ticketToProto", () => {
  it("sets every field of the Ticket message, the message ones included", () => {
    const ticket = ticketToProto(FULL);
    for (const field of TicketSchema.fields) expect(ticket[field.localName as keyof typeof ticket], field.name).not.toBeUndefined();
  });

  it("maps each column, times as timestampFromDate has them, and round-trips through the wire format", () => {
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
    const [full, pending] = [ticketToProto(FULL), ticketToProto(empty)];
    expect(full).toEqual(
      create(TicketSchema, {
        ...FULL,
        status: TicketStatus.REVOKED,
        pdfSize: 48_213n,
        createdAt: timestampFromDate(FULL.createdAt),
        generatedAt: timestampFromDate(FULL.generatedAt!),
        validUntil: timestampFromDate(FULL.validUntil),
        redeemedAt: timestampFromDate(FULL.redeemedAt!),
        revokedAt: timestampFromDate(FULL.revokedAt!),
      } as never),
    );
    // Before 1970: the seconds round down and the nanos stay positive.
    expect(full.revokedAt).toMatchObject({ seconds: -2n, nanos: 500_000_000 });
    expect(pending).toMatchObject({ status: TicketStatus.PENDING, pdfSize: 0n, pdfSha256: "", failureReason: "", batchId: "" });
    expect(pending.redeemedAt).toBeUndefined();
    for (const ticket of [full, pending]) {
      const bytes = toBinary(TicketSchema, ticket);
      expect(equals(TicketSchema, fromBinary(TicketSchema, bytes), ticket)).toBe(true);
      expect(Buffer.from(toBinary(TicketSchema, create(TicketSchema, ticket))).equals(Buffer.from(bytes))).toBe(true);
    }
  });
});
