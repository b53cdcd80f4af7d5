import { createClient } from "@connectrpc/connect";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderResult } from "@ticketgen/shared";
import { BatchService, BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, waitFor, type TestApi } from "./support/stack.ts";

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
const failed = (ticketId: string): RenderResult => ({
  outcome: "failed",
  tenantId: "default",
  ticketId,
  reason: "Chromium crashed",
  failedAt: new Date().toISOString(),
});

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

describe("a chunk's results and CancelBatch", () => {
  it("take the batch row before its tickets, as a cancel does, so the two cannot deadlock", async () => {
    const batches = createClient(BatchService, grpcTransport(api.baseUrl));
    const { batch } = await batches.createBatch(batchRequest(3));
    const sql = postgres(api.env.DATABASE_URL!, { max: 3, onnotice: () => {} });
    // Another transaction (a CancelBatch, say) holds the batch row until released.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    const holder = sql.begin(async (tx) => {
      await tx`select id from batches where id = ${batch!.id} for update`;
      locked();
      await released;
    });
    try {
      const ids = (await sql<Array<{ id: string }>>`select id from tickets where batch_id = ${batch!.id} order by batch_position`).map(
        (r) => r.id,
      );
      await holding;
      let applied = false;
      const applying = api.app.results
        .applyChunk({ tenantId: "default", batchId: batch!.id, chunkIndex: 0, results: ids.map((id) => generated(id)) })
        .then(() => (applied = true));
      const waiting = () =>
        sql`select 1 from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database() and query ilike '%from "batches"%for update%'`;
      await waitFor(async () => ((await waiting()).length === 1 ? true : undefined), 10_000, "the chunk waiting for the batch row");
      // The chunk waits for the batch row holding none of its tickets: a cancel could lock them.
      expect((await sql`select id from tickets where batch_id = ${batch!.id} for update nowait`).length).toBe(3);
      expect(applied).toBe(false);
      release();
      await holder;
      await applying;
      const after = await batches.getBatch({ id: batch!.id });
      expect(after.batch!.status).toBe(BatchStatus.COMPLETED);
      expect(after.batch!.completedCount).toBe(3);
    } finally {
      release();
      await holder;
      await sql.end();
    }
  });
});
