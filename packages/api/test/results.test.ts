import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderResult } from "@ticketgen/shared";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { ticketRequest } from "./support/requests.ts";
import { startTestApi, type TestApi } from "./support/stack.ts";

let api: TestApi;

beforeAll(async () => {
  // No worker: results are fed to the API's consumer directly, in the orders a queue allows.
  api = await startTestApi();
});

afterAll(() => api.stop());

const generated = (ticketId: string, sha = "a"): RenderResult => ({
  outcome: "generated",
  tenantId: "default",
  ticketId,
  pdfKey: `tickets/default/${ticketId}/${sha.repeat(64)}.pdf`,
  pdfSize: 1234,
  pdfSha256: sha.repeat(64),
  generatedAt: new Date().toISOString(),
  renderMs: 30,
});
const failed = (ticketId: string): RenderResult => ({ outcome: "failed", tenantId: "default", ticketId, reason: "Chromium crashed", failedAt: new Date().toISOString() });

async function ticketAfter(results: (id: string) => RenderResult[], before?: (id: string) => Promise<unknown>) {
  const { ticket } = await api.tickets.createTicket(ticketRequest());
  await before?.(ticket!.id);
  for (const result of results(ticket!.id)) await api.app.results.apply(result);
  return (await api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } })).ticket!;
}

describe("render results applied by the API", () => {
  it("a late failure never overwrites a success", async () => {
    const ticket = await ticketAfter((id) => [generated(id), failed(id)]);
    expect(ticket.status).toBe(TicketStatus.GENERATED);
    expect(ticket.failureReason).toBe("");
  });

  it("a success after a failure wins (a retried render)", async () => {
    const ticket = await ticketAfter((id) => [failed(id), generated(id)]);
    expect(ticket.status).toBe(TicketStatus.GENERATED);
    expect(ticket.pdfSha256).toBe("a".repeat(64));
  });

  it("the first success is kept when a ticket is rendered twice", async () => {
    const ticket = await ticketAfter((id) => [generated(id, "a"), generated(id, "b")]);
    expect(ticket.pdfSha256).toBe("a".repeat(64));
  });

  it("a revoked ticket stays revoked, and keeps its PDF details", async () => {
    const ticket = await ticketAfter(
      (id) => [generated(id), failed(id)],
      (id) => api.tickets.revokeTicket({ id, reason: "refund" }),
    );
    expect(ticket.status).toBe(TicketStatus.REVOKED);
    expect(Number(ticket.pdfSize)).toBe(1234);
  });

  it("a failure lands on a pending ticket with its reason", async () => {
    const ticket = await ticketAfter((id) => [failed(id), failed(id)]);
    expect(ticket.status).toBe(TicketStatus.FAILED);
    expect(ticket.failureReason).toBe("Chromium crashed");
  });
});
