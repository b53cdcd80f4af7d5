import type { DescMethod } from "@bufbuild/protobuf";
import type { Scope } from "@ticketgen/shared";
import { Health } from "@ticketgen/shared/gen/health/v1/health_pb";
import { ServerReflection as ReflectionV1 } from "@ticketgen/shared/gen/grpc/reflection/v1/reflection_pb";
import { ServerReflection as ReflectionV1Alpha } from "@ticketgen/shared/gen/grpc/reflection/v1alpha/reflection_pb";
import { BatchService } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TemplateService } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import { TicketService } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";

// One string per method, made once: a call looks its method's name up in several maps, and a
// string made per call would have its hash computed again at each lookup.
const NAMES = new WeakMap<Pick<DescMethod, "name" | "parent">, string>();

/** `ticketgen.v1.TicketService/GetTicket`: a method as every transport can name it (the gRPC path without its slash). */
export function methodName(method: Pick<DescMethod, "name" | "parent">): string {
  let name = NAMES.get(method);
  if (name === undefined) NAMES.set(method, (name = `${method.parent.typeName}/${method.name}`));
  return name;
}

const { method: tickets } = TicketService;
const { method: batches } = BatchService;
const { method: templates } = TemplateService;

/**
 * The one scope each RPC needs. A method missing here is refused to everyone (see
 * requiredScope), and a test walks every method of every served service against this table.
 */
const TABLE: ReadonlyArray<readonly [DescMethod, Scope]> = [
  [tickets.getTicket, "tickets:read"],
  [tickets.listTickets, "tickets:read"],
  [tickets.downloadTicketPdf, "tickets:read"],
  [tickets.createTicket, "tickets:write"],
  [tickets.revokeTicket, "tickets:write"],
  [tickets.validateTicket, "tickets:validate"],
  [batches.getBatch, "batches:read"],
  [batches.watchBatch, "batches:read"],
  [batches.downloadBatchPdf, "batches:read"],
  [batches.createBatch, "batches:write"],
  [batches.cancelBatch, "batches:write"],
  [templates.getTemplate, "templates:read"],
  [templates.listTemplates, "templates:read"],
  [templates.putTemplate, "templates:write"],
  [templates.previewTemplate, "templates:write"],
  [templates.getAsset, "templates:read"],
  [templates.listAssets, "templates:read"],
  [templates.putAsset, "templates:write"],
  [templates.deleteAsset, "templates:write"],
];
export const METHOD_SCOPES: ReadonlyMap<string, Scope> = new Map(TABLE.map(([method, scope]) => [methodName(method), scope]));

/** Services any caller may use without a token: Kubernetes probes and tooling discovery. */
const PUBLIC_SERVICES: ReadonlySet<string> = new Set([Health.typeName, ReflectionV1.typeName, ReflectionV1Alpha.typeName]);

/** "public", the scope a method needs, or undefined for a method nobody may call. */
export function requiredScope(method: string): Scope | "public" | undefined {
  return METHOD_SCOPES.get(method) ?? (isPublic(method) ? "public" : undefined);
}

/** Whether a method (`grpc.health.v1.Health/Check`) belongs to a public service. */
export function isPublic(method: string): boolean {
  return PUBLIC_SERVICES.has(method.slice(0, method.lastIndexOf("/")));
}
