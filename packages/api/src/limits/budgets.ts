import { isMessage } from "@bufbuild/protobuf";
import { BatchService, CreateBatchRequestSchema } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketService } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { isPublic, METHOD_SCOPES, methodName } from "../auth/method-scopes.ts";

/** Each tenant has one budget of each kind per minute, shared by every API replica. */
export type Budget = "create" | "validate" | "other";

const BUDGETS: ReadonlyMap<string, Budget> = new Map([
  [methodName(TicketService.method.createTicket), "create"],
  [methodName(BatchService.method.createBatch), "create"],
  [methodName(TicketService.method.validateTicket), "validate"],
]);

/** The budget a method (`ticketgen.v1.TicketService/GetTicket`) draws on; undefined: never limited (health, reflection). */
export function budgetOf(method: string): Budget | undefined {
  const budget = BUDGETS.get(method);
  if (budget !== undefined) return budget;
  return METHOD_SCOPES.has(method) || !isPublic(method) ? "other" : undefined;
}

/** What a validated request costs its budget: a batch one per guest (each is a ticket), any other call one. */
export function requestCost(request: unknown): number {
  return isMessage(request, CreateBatchRequestSchema) ? request.guests.length : 1;
}

/** How a budget is counted, for messages: "3 tickets created per minute". */
export const BUDGET_UNITS: Record<Budget, string> = {
  create: "tickets created (each guest of a batch counts as one)",
  validate: "validations",
  other: "calls",
};
