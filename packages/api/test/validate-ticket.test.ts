import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { createKeyRing, generateTicketCode, signToken } from "@ticketgen/shared";
import { ValidationResult } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { ticketRequest } from "./support/requests.ts";
import { startTestApi, TEST_SECRET, type TestApi } from "./support/stack.ts";

let api: TestApi;
let sql: postgres.Sql;

beforeAll(async () => {
  // Two keys: the new one signs, the old one (K1) must still verify.
  api = await startTestApi({ QR_SIGNATURE_SECRET: "", QR_SIGNING_KEYS: `K2:${"n".repeat(32)},K1:${TEST_SECRET}` });
  sql = postgres(inject("databaseUrl"), { max: 1 });
});

afterAll(async () => {
  await sql.end();
  await api.stop();
});

const inAWeek = () => new Date(Date.now() + 7 * 86_400_000);

async function newTicket(eventId?: string) {
  const { ticket } = await api.tickets.createTicket(ticketRequest({ eventId }));
  return ticket!;
}

const byQr = (qrPayload: string, extra: { eventId?: string; redeem?: boolean } = {}) =>
  api.tickets.validateTicket({ credential: { case: "qrPayload", value: qrPayload }, ...extra });
const byCode = (ticketCode: string, extra: { eventId?: string; redeem?: boolean } = {}) =>
  api.tickets.validateTicket({ credential: { case: "ticketCode", value: ticketCode }, ...extra });

describe("ValidateTicket", () => {
  it("VALID for a fresh ticket, by QR payload and by typed code, with the ticket", async () => {
    const ticket = await newTicket();
    const scanned = await byQr(ticket.qrPayload, { eventId: ticket.eventId });
    expect(scanned.result).toBe(ValidationResult.VALID);
    expect(scanned.ticket?.id).toBe(ticket.id);
    expect((await byCode(ticket.ticketCode.toLowerCase(), { eventId: ticket.eventId })).result).toBe(ValidationResult.VALID);
  });

  it("MALFORMED for garbage and for codes with a wrong checksum, never an error", async () => {
    const ticket = await newTicket();
    for (const garbage of ["x", '{"ticketId":"1"}', "https://example.com/t/1", "TG1..", "\u0000\u0001", ticket.qrPayload.toLowerCase()]) {
      expect((await byQr(garbage)).result, garbage).toBe(ValidationResult.MALFORMED);
    }
    const wrongSum = ticket.ticketCode.slice(0, -1) + (ticket.ticketCode.endsWith("0") ? "1" : "0");
    expect((await byCode(wrongSum)).result).toBe(ValidationResult.MALFORMED);
  });

  it("INVALID_SIGNATURE for a token signed with an unknown secret or an unknown key id", async () => {
    const claims = { ticketId: randomUUID(), eventId: "evt", expiresAt: inAWeek() };
    const forged = signToken(createKeyRing([{ kid: "K2", secret: Buffer.from("f".repeat(32)) }]), claims);
    const unknownKid = signToken(createKeyRing([{ kid: "K9", secret: Buffer.from(TEST_SECRET) }]), claims);
    expect((await byQr(forged)).result).toBe(ValidationResult.INVALID_SIGNATURE);
    expect((await byQr(unknownKid)).result).toBe(ValidationResult.INVALID_SIGNATURE);
  });

  it("keeps verifying tokens of the previous key after rotation", async () => {
    const ticket = await newTicket();
    expect(ticket.qrPayload.startsWith("TG1.K2.")).toBe(true);
    const oldKey = signToken(createKeyRing([{ kid: "K1", secret: Buffer.from(TEST_SECRET) }]), {
      ticketId: ticket.id,
      eventId: ticket.eventId,
      expiresAt: inAWeek(),
    });
    expect((await byQr(oldKey)).result).toBe(ValidationResult.VALID);
  });

  it("EXPIRED for a token past its expiry and for a ticket past valid_until", async () => {
    const ticket = await newTicket();
    const expired = signToken(createKeyRing([{ kid: "K1", secret: Buffer.from(TEST_SECRET) }]), {
      ticketId: ticket.id,
      eventId: ticket.eventId,
      expiresAt: new Date(Date.now() - 1000),
    });
    expect((await byQr(expired)).result).toBe(ValidationResult.EXPIRED);

    await sql`update tickets set valid_until = now() - interval '1 second' where id = ${ticket.id}`;
    expect((await byCode(ticket.ticketCode)).result).toBe(ValidationResult.EXPIRED);
    expect((await byCode(ticket.ticketCode, { redeem: true })).result).toBe(ValidationResult.EXPIRED);
  });

  it("WRONG_EVENT when the door belongs to another event", async () => {
    const ticket = await newTicket();
    expect((await byQr(ticket.qrPayload, { eventId: "another-event" })).result).toBe(ValidationResult.WRONG_EVENT);
    expect((await byCode(ticket.ticketCode, { eventId: "another-event" })).result).toBe(ValidationResult.WRONG_EVENT);
  });

  it("NOT_FOUND for a genuine token or a well-formed code of no stored ticket", async () => {
    const token = signToken(createKeyRing([{ kid: "K2", secret: Buffer.from("n".repeat(32)) }]), {
      ticketId: randomUUID(),
      eventId: "evt",
      expiresAt: inAWeek(),
    });
    expect((await byQr(token)).result).toBe(ValidationResult.NOT_FOUND);
    expect((await byCode(generateTicketCode())).result).toBe(ValidationResult.NOT_FOUND);
  });

  it("REVOKED once the ticket is revoked, with or without redeem", async () => {
    const ticket = await newTicket();
    await api.tickets.revokeTicket({ id: ticket.id, reason: "refund" });
    expect((await byQr(ticket.qrPayload)).result).toBe(ValidationResult.REVOKED);
    expect((await byQr(ticket.qrPayload, { redeem: true })).result).toBe(ValidationResult.REVOKED);
  });

  it("redeem: the first scan is VALID and marks the ticket used, every later one ALREADY_REDEEMED", async () => {
    const ticket = await newTicket();
    const first = await byQr(ticket.qrPayload, { redeem: true });
    expect(first.result).toBe(ValidationResult.VALID);
    expect(first.ticket?.redeemedAt).toBeDefined();
    expect((await byQr(ticket.qrPayload, { redeem: true })).result).toBe(ValidationResult.ALREADY_REDEEMED);
    expect((await byCode(ticket.ticketCode, { redeem: true })).result).toBe(ValidationResult.ALREADY_REDEEMED);
    // A check without redeem still tells the door the ticket was used.
    expect((await byQr(ticket.qrPayload)).result).toBe(ValidationResult.ALREADY_REDEEMED);
  });

  it("concurrent redeems of one ticket: exactly one VALID", async () => {
    const ticket = await newTicket();
    const results = await Promise.all(Array.from({ length: 20 }, () => byQr(ticket.qrPayload, { redeem: true })));
    const counts = results.reduce<Record<string, number>>((acc, r) => {
      const name = ValidationResult[r.result];
      acc[name] = (acc[name] ?? 0) + 1;
      return acc;
    }, {});
    expect(counts).toEqual({ VALID: 1, ALREADY_REDEEMED: 19 });
  });

  it("a burst of scans sharing lookups: every scan gets its own ticket's verdict", async () => {
    const [valid, revoked, used] = await Promise.all([newTicket(), newTicket(), newTicket()]);
    await api.tickets.revokeTicket({ id: revoked.id, reason: "refund" });
    await byQr(used.qrPayload, { redeem: true });
    const scans: Array<[Promise<{ result: ValidationResult; ticket?: { id: string } }>, ValidationResult, string | undefined]> = [
      [byQr(valid.qrPayload), ValidationResult.VALID, valid.id],
      [byCode(valid.ticketCode), ValidationResult.VALID, valid.id],
      [byQr(revoked.qrPayload), ValidationResult.REVOKED, revoked.id],
      [byCode(revoked.ticketCode), ValidationResult.REVOKED, revoked.id],
      [byQr(used.qrPayload), ValidationResult.ALREADY_REDEEMED, used.id],
      [byCode(generateTicketCode()), ValidationResult.NOT_FOUND, undefined],
      [byQr(valid.qrPayload, { eventId: "another-event" }), ValidationResult.WRONG_EVENT, undefined],
      [byQr(valid.qrPayload), ValidationResult.VALID, valid.id],
    ];
    for (const [scan, result, ticketId] of scans) {
      const answer = await scan;
      expect(ValidationResult[answer.result]).toBe(ValidationResult[result]);
      expect(answer.ticket?.id).toBe(ticketId);
    }
  });
});
