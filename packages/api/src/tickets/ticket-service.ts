import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type TicketService } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { TenantLogos } from "../print/card-logo.ts";
import { cardTicketOf } from "../print/card-ticket.ts";
import { printPdf } from "../print/print-download.ts";
import { printPlan } from "../print/print-layouts.ts";
import { tenantOf } from "../pipeline/auth-interceptor.ts";
import { decodePageToken, DEFAULT_PAGE_SIZE, encodePageToken } from "./page-token.ts";
import { ticketToProto } from "./ticket-mapping.ts";
import type { TicketIssuer } from "./ticket-issuer.ts";
import type { TicketRepository } from "./ticket-repository.ts";
import type { Credential, TicketValidator } from "./ticket-validator.ts";
import { parseTicketCode, type BlobStore, type KeyRing } from "@ticketgen/shared";
import type { TicketRow } from "../db/schema.ts";

export interface TicketServiceDeps {
  repository: TicketRepository;
  issuer: TicketIssuer;
  validator: TicketValidator;
  blobs: BlobStore;
  /** Signs and verifies page tokens. */
  keyRing: KeyRing;
  /** The logo badges and labels show. */
  logos: TenantLogos;
}

const notFound = (what: string) => new ConnectError(`ticket ${what} not found`, Code.NotFound);

/** TicketService handlers; requests arrive validated by validationInterceptor. */
/** Why a ticket has no PDF to download yet, in words a caller can act on. */
function noPdf(row: TicketRow): ConnectError {
  const reason = row.generatedAt
    ? "has no PDF any more: it was deleted after the retention period (PDF_RETENTION_DAYS days after the ticket expired)"
    : row.status === "FAILED"
      ? `failed to render: ${row.failureReason ?? "unknown reason"}`
      : row.status === "REVOKED"
        ? "was revoked before its PDF was rendered"
        : "is still rendering; retry when its status is GENERATED";
  return new ConnectError(`ticket ${row.id} ${reason}`, Code.FailedPrecondition);
}

export function ticketService({
  repository,
  issuer,
  validator,
  blobs,
  keyRing,
  logos,
}: TicketServiceDeps): ServiceImpl<typeof TicketService> {
  return {
    async createTicket(req, context) {
      const row = await issuer.issue(tenantOf(context), req);
      return { ticket: ticketToProto(row) };
    },

    async getTicket(req, context) {
      const tenant = tenantOf(context);
      const { lookup } = req;
      let row;
      if (lookup.case === "id") {
        row = await repository.findById(tenant, lookup.value);
      } else {
        const code = parseTicketCode(lookup.value ?? "");
        if (!code) throw new ConnectError("ticket_code: is not a valid ticket code (TKT-…-…-checksum)", Code.InvalidArgument);
        row = await repository.findByCode(tenant, code);
      }
      if (!row) throw notFound(lookup.value ?? "");
      return { ticket: ticketToProto(row) };
    },

    async listTickets(req, context) {
      const pageSize = req.pageSize || DEFAULT_PAGE_SIZE;
      const after = req.pageToken ? decodePageToken(keyRing, req.pageToken, req.eventId) : undefined;
      const rows = await repository.listByEvent(tenantOf(context), req.eventId, after, pageSize + 1);
      const page = rows.slice(0, pageSize);
      const last = page.at(-1);
      return {
        tickets: page.map(ticketToProto),
        nextPageToken: rows.length > pageSize && last ? encodePageToken(keyRing, req.eventId, last.id) : "",
      };
    },

    async validateTicket(req, context) {
      const verdict = await validator.validate(tenantOf(context), req.credential as Credential, req.eventId, req.redeem);
      return { result: verdict.result, ticket: verdict.ticket && ticketToProto(verdict.ticket) };
    },

    async *downloadTicketPdf(req, context) {
      const tenant = tenantOf(context);
      const row = await repository.findWithSnapshots(tenant, req.id);
      if (!row) throw notFound(req.id);
      const { pdfKey } = row;
      if (!pdfKey) throw noPdf(row);
      const plan = printPlan(req.layout);
      if (plan.kind === "stored") {
        for await (const chunk of await blobs.get(pdfKey)) yield { chunk };
        return;
      }
      if (row.status === "REVOKED" && plan.kind === "cards") {
        throw new ConnectError(`ticket ${row.id} was revoked: a badge or label of it would not admit`, Code.FailedPrecondition);
      }
      for await (const chunk of printPdf(req.layout, {
        stored: () => [() => blobs.get(pdfKey)],
        cards: async function* () {
          yield cardTicketOf(row);
        },
        logo: () => logos.of(tenant),
        title: `${row.event.name} — ${`${row.guest.firstName} ${row.guest.lastName}`.trim()}`,
      }))
        yield { chunk };
    },

    async revokeTicket(req, context) {
      const row = await repository.revoke(tenantOf(context), req.id, req.reason, new Date());
      if (!row) throw notFound(req.id);
      return { ticket: ticketToProto(row) };
    },
  };
}
