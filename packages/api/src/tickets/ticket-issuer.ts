import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { v7 as uuidv7 } from "uuid";
import { generateTicketCode, signToken, type KeyRing } from "@ticketgen/shared";
import { CreateTicketRequestSchema, type CreateTicketRequest } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { NewTicketRow, TicketRow } from "../db/schema.ts";
import type { TemplateRepository } from "../templates/template-repository.ts";
import type { RenderDispatcher } from "./render-dispatcher.ts";
import type { TicketRepository } from "./ticket-repository.ts";

const HOUR_MS = 3_600_000;

export interface TicketIssuerOptions {
  keyRing: KeyRing;
  qrExpiryHours: number;
  qrEventGraceHours: number;
}

/** Expiry per DESIGN.md: the event's end plus grace when it has one, else N hours after issue. */
export function tokenExpiry(endsAt: Date | undefined, issuedAt: Date, options: TicketIssuerOptions): Date {
  return endsAt
    ? new Date(endsAt.getTime() + options.qrEventGraceHours * HOUR_MS)
    : new Date(issuedAt.getTime() + options.qrExpiryHours * HOUR_MS);
}

function requestHash(request: CreateTicketRequest): string {
  const withoutKey = create(CreateTicketRequestSchema, { ...request, idempotencyKey: "" });
  return createHash("sha256").update(toBinary(CreateTicketRequestSchema, withoutKey)).digest("hex");
}

/** CreateTicket: sign, store (PENDING), enqueue. Takes requests already validated at the edge. */
export class TicketIssuer {
  constructor(
    private readonly repository: TicketRepository,
    private readonly templates: TemplateRepository,
    private readonly dispatcher: RenderDispatcher,
    private readonly options: TicketIssuerOptions,
  ) {}

  async issue(tenantId: string, request: CreateTicketRequest, now: Date = new Date()): Promise<TicketRow> {
    const hash = requestHash(request);
    const key = request.idempotencyKey || null;
    if (key) {
      const existing = await this.repository.findByIdempotencyKey(tenantId, key);
      if (existing) return this.replay(existing, hash);
    }
    const templateVersion = await this.templateVersion(tenantId, request.templateId);
    for (;;) {
      const inserted = await this.repository.insert(this.newRow(tenantId, request, templateVersion, hash, key, now));
      if (inserted) {
        await this.dispatcher.dispatch([inserted]);
        return inserted;
      }
      // A concurrent call with the same key won the insert; otherwise the random code collided.
      const winner = key ? await this.repository.findByIdempotencyKey(tenantId, key) : undefined;
      if (winner) return this.replay(winner, hash);
    }
  }

  /** The latest version of a tenant template (0 for the built-ins), pinned on the ticket. */
  private async templateVersion(tenantId: string, templateId: string): Promise<number> {
    if (!templateId) return 0;
    const template = await this.templates.find(tenantId, templateId);
    if (!template) throw new ConnectError(`template_id: template "${templateId}" not found; store it with PutTemplate first`, Code.NotFound);
    return template.version;
  }

  private replay(existing: TicketRow, hash: string): TicketRow {
    if (existing.requestHash !== hash) {
      throw new ConnectError(
        `idempotency_key: was already used for a different request (ticket ${existing.id})`,
        Code.AlreadyExists,
      );
    }
    return existing;
  }

  private newRow(tenantId: string, request: CreateTicketRequest, templateVersion: number, hash: string, key: string | null, now: Date): NewTicketRow {
    // The rule set guarantees these messages are present.
    const event = request.event!;
    const guest = request.guest!;
    const ticketType = request.ticketType!;
    const endsAt = event.endsAt ? timestampDate(event.endsAt) : undefined;
    const validUntil = tokenExpiry(endsAt, now, this.options);
    if (validUntil.getTime() <= now.getTime()) {
      throw new ConnectError(
        `event.ends_at: the event ended more than ${this.options.qrEventGraceHours} h ago; its tickets could never be validated`,
        Code.InvalidArgument,
      );
    }
    const id = uuidv7({ msecs: now.getTime() });
    return {
      id,
      tenantId,
      ticketCode: generateTicketCode(now.getTime()),
      eventId: event.id,
      guestId: guest.id,
      ticketTypeId: ticketType.id,
      status: "PENDING",
      qrPayload: signToken(this.options.keyRing, { ticketId: id, eventId: event.id, expiresAt: validUntil }),
      templateId: request.templateId,
      templateVersion,
      locale: request.locale,
      event: {
        id: event.id,
        name: event.name,
        startsAt: timestampDate(event.startsAt!).toISOString(),
        endsAt: endsAt?.toISOString() ?? null,
        location: event.location,
        timezone: event.timezone,
      },
      guest: { id: guest.id, firstName: guest.firstName, lastName: guest.lastName, email: guest.email },
      ticketType: { id: ticketType.id, name: ticketType.name },
      idempotencyKey: key,
      requestHash: hash,
      createdAt: now,
      validUntil,
    };
  }
}
