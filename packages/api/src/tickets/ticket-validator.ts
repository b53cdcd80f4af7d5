import { parseTicketCode, tokenMatchesEvent, verifyToken, type KeyRing } from "@ticketgen/shared";
import { ValidationResult } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { TicketFacts, TicketRepository } from "./ticket-repository.ts";

export type Credential = { case: "qrPayload"; value: string } | { case: "ticketCode"; value: string };

export interface Verdict {
  result: ValidationResult;
  ticket?: TicketFacts;
}

/**
 * The door check. The signature, expiry and event binding of a QR token are checked without
 * the database; the database then answers unknown, revoked and already redeemed.
 */
export class TicketValidator {
  constructor(
    private readonly repository: TicketRepository,
    private readonly keyRing: KeyRing,
  ) {}

  async validate(tenantId: string, credential: Credential, eventId: string, redeem: boolean, now = new Date()): Promise<Verdict> {
    let ticket: TicketFacts | undefined;
    if (credential.case === "qrPayload") {
      const verified = verifyToken(this.keyRing, credential.value, now);
      if (!verified.ok) return { result: ValidationResult[verified.reason] };
      if (eventId && !tokenMatchesEvent(verified.token, eventId)) return { result: ValidationResult.WRONG_EVENT };
      ticket = await this.repository.findById(tenantId, verified.token.ticketId);
    } else {
      const code = parseTicketCode(credential.value);
      if (!code) return { result: ValidationResult.MALFORMED };
      ticket = await this.repository.findByCode(tenantId, code);
    }
    if (!ticket) return { result: ValidationResult.NOT_FOUND };
    const blocked = this.refusal(ticket, eventId, now);
    if (blocked !== undefined || !redeem) return { result: blocked ?? ValidationResult.VALID, ticket };

    const redeemed = await this.repository.redeem(tenantId, ticket.id, now);
    if (redeemed) return { result: ValidationResult.VALID, ticket: redeemed };
    // Another scan won the race (or the ticket changed meanwhile): report its state now.
    const current = (await this.repository.findById(tenantId, ticket.id)) ?? ticket;
    return { result: this.refusal(current, eventId, now) ?? ValidationResult.ALREADY_REDEEMED, ticket: current };
  }

  private refusal(ticket: TicketFacts, eventId: string, now: Date): ValidationResult | undefined {
    if (eventId && ticket.eventId !== eventId) return ValidationResult.WRONG_EVENT;
    if (ticket.status === "REVOKED") return ValidationResult.REVOKED;
    if (ticket.validUntil.getTime() <= now.getTime()) return ValidationResult.EXPIRED;
    if (ticket.redeemedAt) return ValidationResult.ALREADY_REDEEMED;
    return undefined;
  }
}
